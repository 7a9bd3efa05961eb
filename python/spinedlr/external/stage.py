"""The external stage: the frozen model scored on the external cohort, and its statistics.

Enabled when ``design.validation.scheme`` is ``external``. The select stage fits on the
study's (training) manifest as always; this stage scores the external manifest with
`spinedlr.apply.apply_study` — the same extraction settings, trained networks, selected
features, training means and SDs and coefficients, nothing refitted on the external cohort —
and computes in R (the package's functions, through rpy2):

=====================  ===================================================================
predictions            the external units' ``prob_<class>`` (apply_study's table)
auc                    AUC with DeLong CI, Youden cut-off, accuracy… (``roc_summary``), one
                       row for the external cohort and one for the training cohort's
                       apparent fit of the same frozen model
internal_auc           the internal validation AUCs of the same Radscore (``stats/table3``,
                       unadjusted model) when the evaluate stage wrote them; else no rows
calibration            calibration in the large and slope, O/E (``external_calibration``)
hosmer_lemeshow        Hosmer-Lemeshow test over ``evaluate.hl_groups`` risk groups
calibration_curve      per risk group: mean predicted risk, observed rate, exact CI
decision_curve         net benefit and interventions avoided (``decision_curve``)
=====================  ===================================================================

Why the evaluate settings (``conf_level``, ``hl_groups``, ``thresholds``): the external
statistics must be read beside the internal ones, so they share their definitions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import binomtest

from spinedlr import stats
from spinedlr.stats.clinical import external_calibration
from spinedlr.config import Study
from spinedlr.design.settings import External
from spinedlr.errors import InputError
from spinedlr.outputs import read_output
from spinedlr.paths import EXTERNAL, EXTERNAL_COHORT, RADSCORES, SELECTION, STATS
from spinedlr.provenance import provenance, write_table_folder
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec, input_files

COHORT = EXTERNAL_COHORT.split("/")[-1]
"""The cohort name apply_study files the external cohort's features under (``apply/<name>``)."""


def is_external(study: Study) -> bool:
    """The stage runs only for a study with an external test cohort."""
    return isinstance(study.config.design.validation, External)


def external_manifest(study: Study) -> Path:
    return study.resolve(study.config.design.validation.manifest)


def external_inputs(study: Study) -> tuple[Path, ...]:
    """The external manifest and every image and mask it names (hashed into the stage key)."""
    if not is_external(study):
        return ()
    cohort = study.override(None, "design.validation.manifest",
                            manifest=study.config.design.validation.manifest)
    return (external_manifest(study), *input_files(cohort))


def score_name(study: Study) -> str:
    """The radscores.parquet column the frozen model predicts with (its linear predictor)."""
    from spinedlr.apply_model import load_frozen

    model = load_frozen(study)
    return "radscore_combined" if model.combined is not None else f"radscore_{next(iter(model.formulas))}"


def risk_groups(p: np.ndarray, groups: int) -> np.ndarray:
    """Group index (0…) of each risk: the Hosmer-Lemeshow test's groups, cut at the risks'
    quantiles into right-closed intervals, the lowest closed (R's ``cut`` of ``quantile``), so
    the curve shows the groups the test compares."""
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1)))
    index = np.searchsorted(breaks, p, side="left") - 1
    return np.clip(index, 0, len(breaks) - 2)


def calibration_curve(y: np.ndarray, p: np.ndarray, groups: int, conf_level: float) -> pl.DataFrame:
    """Observed event rate against mean predicted risk in each risk group, with the exact
    (Clopper-Pearson) interval of the observed rate."""
    index = risk_groups(p, groups)
    rows = []
    for g in np.unique(index):
        k, n = int(y[index == g].sum()), int((index == g).sum())
        ci = binomtest(k, n).proportion_ci(conf_level, method="exact")
        rows.append({"group": int(g) + 1, "n": n, "events": k, "predicted": float(p[index == g].mean()),
                     "observed": k / n, "observed_lower": ci.low, "observed_upper": ci.high})
    return pl.DataFrame(rows)


def _auc_rows(study: Study, ext: pl.DataFrame, prob: str) -> pl.DataFrame:
    """roc_summary of the frozen model's risk in the external and the training cohort."""
    cl = study.config.evaluate.conf_level
    fitted = read_output(study.paths.fitted_predictions, "spinedlr select run")
    outcome = study.config.outcome
    train = fitted.join(read_output(study.paths.radscores, "spinedlr select run")
                        .select("patient_id", pl.col("outcome").cast(pl.Int64)), on="patient_id")
    rows = [stats.roc_summary(ext.select(prob, pl.col(outcome).cast(pl.Int64).alias("outcome")),
                              prob, "outcome", conf_level=cl).with_columns(cohort=pl.lit("external")),
            stats.roc_summary(train.select(prob, "outcome"), prob, "outcome", conf_level=cl)
            .with_columns(cohort=pl.lit("training (apparent)"))]
    return pl.concat(rows).select("cohort", pl.exclude("cohort"))


def _internal_auc(study: Study) -> pl.DataFrame:
    """The evaluate stage's internal validation AUCs of the model's Radscore, if written."""
    path = study.paths.stats_table("table3")
    if not path.exists():
        return pl.DataFrame(schema={"score": pl.Utf8, "method": pl.Utf8, "estimate": pl.Float64})
    t3 = read_output(path, "spinedlr evaluate")
    return t3.filter((pl.col("score") == score_name(study)) & (pl.col("model") == "unadjusted")
                     & (pl.col("statistic") == "auc"))


def compute(study: Study, predictions: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every external table from apply_study's predictions (nothing is written)."""
    st = study.config.evaluate
    outcome = study.config.outcome
    if outcome not in predictions.columns or predictions[outcome].null_count():
        raise InputError(f"{external_manifest(study)}: the external cohort needs the outcome "
                         f"column {outcome!r} filled for every unit to be validated")
    prob = predictions.columns[predictions.columns.index("predicted") - 1]  # prob_<positive>
    y = predictions[outcome].cast(pl.Int64).to_numpy()
    p = predictions[prob].to_numpy()
    risk = pl.DataFrame({"outcome": y, "frozen model": p})
    return {
        "predictions": predictions,
        "auc": _auc_rows(study, predictions, prob),
        "internal_auc": _internal_auc(study),
        "calibration": external_calibration(p, y, conf_level=st.conf_level),
        "hosmer_lemeshow": stats.hosmer_lemeshow(y, p, g=st.hl_groups),
        "calibration_curve": calibration_curve(y, p, st.hl_groups, st.conf_level),
        "decision_curve": stats.decision_curve(risk, "outcome", ["frozen model"],
                                               thresholds=st.thresholds),
    }


def run(study: Study, show_progress: bool = True) -> dict[str, Path]:
    """Score the external cohort with the frozen model; write ``external/<table>`` + CSV."""
    from spinedlr.apply import apply_study

    folder = study.paths.apply_cohort(COHORT)
    predictions = apply_study(study, external_manifest(study), folder / "predictions.csv", COHORT,
                              show_progress=show_progress)
    tables = compute(study, predictions)
    record = provenance(study.config, "external", {
        "manifest": str(external_manifest(study)), "units": predictions.height,
        "r": stats.r_versions(), "tables": sorted(tables), "refitted": "nothing"})
    return write_table_folder(study.output, EXTERNAL, tables, record)


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    tables = run(study, ctx.show_progress)
    return StageResult(SPEC.name, tables, f"{len(tables)} table(s) on the external cohort")


SPEC = StageSpec(
    name="external",
    settings=("evaluate", "extract", "segment"),
    upstream=(SELECTION, RADSCORES, STATS),
    outputs=(EXTERNAL, EXTERNAL_COHORT),
    run=_run_stage,
    study_keys=(*CORE_KEYS, "design", "covariates"),
    enabled=is_external,
    extra_inputs=external_inputs,
    description="the frozen model applied to the external cohort, and its statistics",
)
