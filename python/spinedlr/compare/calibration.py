"""Calibration and decision curves of the Radscore, the clinical model and the nomogram.

Fan et al. judge the final models by calibration (curve and Hosmer-Lemeshow) and decision
curves in the training and in the external centre. The definitions are the external stage's
(``spinedlr.external.stage``), so the Radscore's external rows here equal that stage's
tables: calibration in the large and slope with Wald CIs (``external_calibration``), the
Hosmer-Lemeshow test over ``evaluate.hl_groups`` risk groups, the calibration curve over the
same groups (``calibration_curve``: the curve shows the groups the test compares) and net
benefit at ``evaluate.thresholds`` beside treating all and none (``decision_curve``).

Every model is frozen from the training centre. Its training rows are the apparent fit: for
the nomogram and the clinical model (unpenalised maximum likelihood) calibration in the large
is 0 and the slope 1 by construction, which shows the fit is the one scored; the external rows
are the test. The Radscore's risk is the frozen model's probability, expit of its linear
predictor. A model whose risks the outcome separates (no finite slope) or that takes too few
distinct risks for the groups gets its row with a ``note`` (R's message) instead of failing
the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from spinedlr import stats
from spinedlr.external.stage import calibration_curve
from spinedlr.stats.bridge import StatsError
from spinedlr.stats.clinical import external_calibration

Risks = Mapping[str, np.ndarray]
"""Model name -> every patient's predicted risk, in the cohort's row order."""

EDGE = 1e-12
"""Risks are kept this far inside (0, 1): their logit is the recalibration model's offset."""


def _attempt(compute: Callable[[], pl.DataFrame], notes: list[str]) -> pl.DataFrame | None:
    """The statistic, or None with R's reason appended to ``notes``."""
    try:
        return compute()
    except StatsError as err:
        notes.append(str(err))
        return None


def calibration_row(y: np.ndarray, p: np.ndarray, conf_level: float, groups: int) -> pl.DataFrame:
    """One row: n, n_events, ``external_calibration``'s columns, ``hl_statistic``, ``hl_df``,
    ``hl_p_value``, ``hl_groups`` and ``note`` (null unless a statistic was refused)."""
    notes: list[str] = []
    parts = [pl.DataFrame({"n": [len(y)], "n_events": [int(y.sum())]})]
    cal = _attempt(lambda: external_calibration(p, y, conf_level=conf_level), notes)
    hl = _attempt(lambda: stats.hosmer_lemeshow(y, p, g=groups), notes)
    if cal is not None:
        parts.append(cal.drop("n", "n_events"))
    if hl is not None:
        parts.append(hl.rename(lambda c: f"hl_{c}"))
    note = pl.lit("; ".join(notes) if notes else None, dtype=pl.String).alias("note")
    return pl.concat(parts, how="horizontal").with_columns(note)


def model_calibration(outcomes: Mapping[str, np.ndarray], risks: Mapping[str, Risks],
                      conf_level: float, groups: int,
                      thresholds: Sequence[float]) -> dict[str, pl.DataFrame]:
    """``models_calibration``, ``models_calibration_curve`` and ``models_decision_curve`` for
    every cohort of ``outcomes`` (0/1) and every model of ``risks[cohort]``; each table starts
    with ``cohort`` and ``model`` (in the decision curve also ``all`` and ``none``)."""
    cal, curve, dca = [], [], []
    for cohort, y in outcomes.items():
        tag = pl.lit(cohort).alias("cohort")
        for model, risk in risks[cohort].items():
            p = np.clip(risk, EDGE, 1 - EDGE)
            name = pl.lit(model).alias("model")
            cal.append(calibration_row(y, p, conf_level, groups).select(tag, name, pl.all()))
            curve.append(calibration_curve(y, p, groups, conf_level).select(tag, name, pl.all()))
        data = pl.DataFrame({"outcome": y, **risks[cohort]})
        dca.append(stats.decision_curve(data, "outcome", list(risks[cohort]), thresholds=thresholds)
                   .select(tag, pl.all()))
    return {"models_calibration": pl.concat(cal, how="diagonal_relaxed"),
            "models_calibration_curve": pl.concat(curve), "models_decision_curve": pl.concat(dca)}
