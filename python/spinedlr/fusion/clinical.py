"""Clinical factors of the fusion study's combined model (Zou et al. 2025, Table S1).

Zou et al. put a clinical factor into the combined model only when binary logistic
regression found it associated with cage subsidence (osteoporosis alone was). As in the
two-centre study (spinedlr.compare.dlrn), each candidate is tested alone on the training
cohort, those with P < ``fusion.clinical_p_enter`` enter one multivariable model, and the
factors still below that P there are kept — all through the R package's
``clinical_selection``, so a statistician gets the same table in R. Training rows only: a
factor picked with the validation or test outcomes would leak them into the model those
cohorts judge. ``fusion.clinical_p_enter: null`` keeps every candidate (no selection).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from spinedlr.compare.dlrn import clinical_rows, present_levels, selected_factors
from spinedlr.config import Study
from spinedlr.errors import ConfigError
from spinedlr.select.stage import covariate_design
from spinedlr.stats.clinical import clinical_selection


@dataclass(frozen=True)
class ClinicalTerms:
    """The combined model's clinical columns (coded, rows in the cohorts' order), the
    selection table (None without selection) and the covariates kept."""

    design: pl.DataFrame
    selection: pl.DataFrame | None
    chosen: list[str]


def candidates(study: Study) -> list[str]:
    """``fusion.clinical`` (every covariate when null); ConfigError for an unknown name."""
    names = [c.name for c in study.config.covariates]
    wanted = study.config.fusion.clinical
    wanted = names if wanted is None else list(wanted)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ConfigError(f"fusion.clinical names unknown covariate(s) {unknown}")
    return wanted


def clinical_terms(study: Study, manifest: pl.DataFrame, cohorts: pl.DataFrame) -> ClinicalTerms:
    """Select the clinical factors on the training cohort and code them for every patient.

    ``cohorts``: patient_id, cohort, outcome (one row per patient, the stage's order)."""
    fs, st = study.config.fusion, study.config.evaluate
    wanted = candidates(study)
    selection = None
    if wanted and fs.clinical_p_enter is not None:
        train = cohorts.filter(pl.col("cohort") == "training").select("patient_id", "outcome")
        rows = present_levels(clinical_rows(study, manifest, train), None).training
        selection = clinical_selection(rows, "outcome", wanted, fs.clinical_p_enter,
                                       st.conf_level, st.separation)
        wanted = selected_factors(selection, fs.clinical_p_enter)
    design, terms = covariate_design(study, cohorts["patient_id"].to_list())
    return ClinicalTerms(design.select([c for w in wanted for c in terms[w]]), selection, wanted)
