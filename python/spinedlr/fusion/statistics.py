"""Per-cohort statistics of the fusion stage's models, from the R package through rpy2.

For every model (clinical, each signature, combined) in each of the training, validation
and test cohorts: AUC with DeLong CI, Youden cut-off and the confusion metrics
(``roc_summary``); calibration in the large and slope (``external_calibration``); the
calibration curve over risk groups with exact CIs; and the decision curve. On the test
cohort the combined model is compared with the human readers at the training cohort's
Youden cut-off (a threshold chosen on test rows would flatter the model): accuracy,
sensitivity, specificity, PPV, NPV, F1 with exact CIs and McNemar's test
(``rater_comparison``), and Cohen's kappa between the readers.

Training-cohort signatures are out-of-fold, so the training AUCs of the signatures are
honest; the combined and clinical models' training rows are their apparent fit.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr import stats
from spinedlr.compare.readers import model_vs_raters, rater_agreement
from spinedlr.external.stage import calibration_curve
from spinedlr.stats.bridge import StatsError
from spinedlr.stats.clinical import external_calibration

MIN_PER_GROUP = 5
"""Patients per risk group of a calibration curve at least (a small test cohort gets fewer
groups than ``evaluate.hl_groups``)."""


def _calibration(p: np.ndarray, y: np.ndarray, conf_level: float) -> pl.DataFrame:
    """Calibration in the large and slope; a cohort the risks separate perfectly (a small
    test cohort) has no finite slope, recorded as a row with a note instead of an error."""
    try:
        return external_calibration(p, y, conf_level=conf_level)
    except StatsError as err:
        return pl.DataFrame({"note": [str(err)]})


def _per_cohort(predictions: pl.DataFrame, models: list[str], conf_level: float, groups: int,
                thresholds: list[float]) -> dict[str, list[pl.DataFrame]]:
    out: dict[str, list[pl.DataFrame]] = {"auc": [], "calibration": [], "calibration_curve": [],
                                          "decision_curve": []}
    for (cohort,), part in predictions.group_by("cohort", maintain_order=True):
        y = part["outcome"].to_numpy()
        tag = pl.lit(cohort).alias("cohort")
        for m in models:
            p = np.clip(part[m].to_numpy(), 1e-6, 1 - 1e-6)
            out["auc"].append(stats.roc_summary(part.select(m, "outcome"), m, "outcome",
                                                conf_level).select(tag, pl.all()))
            out["calibration"].append(_calibration(p, y, conf_level)
                                      .select(tag, pl.lit(m).alias("model"), pl.all()))
            g = max(2, min(groups, len(y) // MIN_PER_GROUP))
            out["calibration_curve"].append(calibration_curve(y, p, g, conf_level)
                                            .select(tag, pl.lit(m).alias("model"), pl.all()))
        dca = stats.decision_curve(part.select("outcome", *models), "outcome", models,
                                   thresholds=thresholds)
        out["decision_curve"].append(dca.select(tag, pl.all()))
    return out


def cohort_statistics(predictions: pl.DataFrame, models: list[str], conf_level: float,
                      groups: int, thresholds: list[float]) -> dict[str, pl.DataFrame]:
    """auc, calibration, calibration_curve and decision_curve tables, a ``cohort`` column
    first; ``predictions`` has ``cohort``, ``outcome`` and one probability column per model."""
    parts = _per_cohort(predictions, models, conf_level, groups, thresholds)
    return {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in parts.items()}


def readers_table(test: pl.DataFrame, score: str, threshold: float, readers: list[str],
                  conf_level: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(model vs each reader on the test rows, Cohen's kappa between readers); empty tables
    without readers."""
    if not readers:
        return pl.DataFrame(), pl.DataFrame()
    data = test.select("outcome", score, *readers)
    table = model_vs_raters(data, "outcome", score, threshold, readers, conf_level)
    kappa = rater_agreement(data, readers, conf_level) if len(readers) > 1 else pl.DataFrame()
    return table, kappa
