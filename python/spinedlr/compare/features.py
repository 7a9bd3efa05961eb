"""The feature sets the classifier comparison reads, in the training and the external cohort.

Fan et al. (2024) selected features once in the training centre, then compared classifiers on
each feature set (radiomics, deep, their fusion). The sets here are the select stage's
results, one per family, pooled over the ROIs:

* ``radiomics`` / ``deep``: the terms of every ROI's ``radscore_<roi>_<family>`` formula
  (principal components when the formula has a PCA block);
* ``fused``: the terms of the study's own model, each ROI's Radscore formula as
  ``selection/model.json`` names it (the fused formula where a ROI has deep features), only
  when some ROI has deep features.

Columns are named ``<roi>:<family>:<term>``, so a feature of two ROIs, or a principal
component of two PCA fits, stays two columns. Values are the raw feature values: each
classifier's own pipeline scales them on its training rows.

Why selection is not repeated inside the comparison's folds: the selection chain (ICC,
mRMR with a random forest, LASSO and SVM-RFE, each cross-validated) costs more than all nine
classifiers together; the select stage's full-pipeline CV (``selection/validation.parquet``)
is the leakage-free internal estimate of the Radscore. The comparison's CV AUCs share that one
selection, as the paper's did, so they rank classifiers fairly but are optimistic as
estimates; the external AUCs are untouched by it (nothing is refitted on the external cohort).

External features are the external stage's extraction (``apply/external/features``), made
with the study's settings and trained networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from spinedlr.apply_model import load_frozen
from spinedlr.compare.grid import Cohort
from spinedlr.config import Study
from spinedlr.errors import InputError
from spinedlr.outputs import read_output
from spinedlr.paths import StudyPaths
from spinedlr.select.radscore import formula_terms, read_formula
from spinedlr.select.tables import read_long, to_wide

FAMILIES = ("radiomics", "deep")


@dataclass(frozen=True)
class FeatureSets:
    """The formulas of each feature set: set name -> [(roi, formula)]."""

    formulas: dict[str, list[tuple[str, dict]]]
    rater: str

    def columns(self) -> dict[str, list[str]]:
        """Set name -> its column names (``<roi>:<family>:<term>``)."""
        return {name: [_column(roi, f, term["feature"]) for roi, f in parts for term in f["features"]]
                for name, parts in self.formulas.items()}


def _column(roi: str, formula: dict, term: str) -> str:
    return f"{roi}:{formula['family']}:{term}"


def feature_sets(study: Study) -> FeatureSets:
    """The feature sets of a fitted study (see the module docstring)."""
    model = load_frozen(study)
    sets: dict[str, list[tuple[str, dict]]] = {}
    for family in FAMILIES:
        parts = [(roi.name, read_formula(path)) for roi in study.config.rois
                 if (path := study.paths.formula(f"radscore_{roi.name}_{family}")).exists()]
        if parts:
            sets[family] = parts
    if model.deep_rois:
        sets["fused"] = list(model.formulas.items())
    if not sets:
        raise InputError(f"{study.paths.selection}: no Radscore formula to compare classifiers on; "
                         "run the select stage first")
    return FeatureSets(sets, model.rater)


def roi_wides(paths: StudyPaths, rois: list[str], rater: str) -> dict[str, pl.DataFrame]:
    """One wide table per ROI (patient_id, every feature of every family) from a features folder."""
    tables = [p for p in (paths.radiomics, paths.deep) if p.exists()]
    longs = [(read_long(p), p) for p in tables]
    out = {}
    for roi in rois:
        wide = None
        for long, path in longs:
            w = to_wide(long, roi, rater, path)
            if w.width > 1:
                wide = w if wide is None else wide.join(w, on="patient_id", how="inner")
        out[roi] = wide
    return out


def cohort_features(sets: FeatureSets, paths: StudyPaths, ids: list[str]) -> pl.DataFrame:
    """patient_id (in ``ids`` order) and every column of every feature set."""
    rois = sorted({roi for parts in sets.formulas.values() for roi, _ in parts})
    wides = roi_wides(paths, rois, sets.rater)
    table = pl.DataFrame({"patient_id": ids}, schema={"patient_id": pl.String})
    seen: set[str] = set()
    for parts in sets.formulas.values():
        for roi, formula in parts:
            if wides[roi] is None:
                raise InputError(f"{paths.features}: no features of ROI {roi} for rater {sets.rater}")
            terms = formula_terms(formula, wides[roi])
            rename = {t: _column(roi, formula, t) for t in terms.columns[1:]}
            new = [t for t, c in rename.items() if c not in seen]
            seen |= set(rename.values())
            if new:
                table = table.join(terms.select("patient_id", *new).rename({t: rename[t] for t in new}),
                                   on="patient_id", how="left", maintain_order="left")
    lacking = table.filter(pl.any_horizontal(pl.exclude("patient_id").is_null()))["patient_id"]
    if lacking.len():
        raise InputError(f"{paths.features}: no features for patient(s) {', '.join(lacking[:10])}")
    return table


def training_cohort(study: Study, sets: FeatureSets) -> tuple[Cohort, list[str]]:
    """The training centre's rows (radscores.parquet's patients and 0/1 outcome)."""
    scores = read_output(study.paths.radscores, "spinedlr select run")
    ids = scores["patient_id"].cast(pl.String).to_list()
    features = cohort_features(sets, study.paths, ids)
    return Cohort(features.drop("patient_id"), scores["outcome"].cast(pl.Int64).to_numpy()), ids


def external_cohort(study: Study, sets: FeatureSets, predictions: Path,
                    folder: Path) -> tuple[Cohort, list[str]]:
    """The external cohort's rows: the external stage's predictions (ids, outcome) and the
    features its frozen extraction wrote under ``folder`` (apply/external)."""
    pred = read_output(predictions, "spinedlr run (the external stage)")
    pid, outcome = study.config.patient_id, study.config.outcome
    ids = pred[pid].cast(pl.String).to_list()
    features = cohort_features(sets, StudyPaths(folder), ids)
    y = np.asarray(pred[outcome].cast(pl.Int64).to_numpy())
    return Cohort(features.drop("patient_id"), y), ids
