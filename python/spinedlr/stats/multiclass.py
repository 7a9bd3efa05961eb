"""Multi-class grading metrics, the ordinal baseline, rater agreement and the nomogram, through
the R package (rpy2): one source of truth for Python and for a statistician using R.

Each function is a thin call of the R function of the same name; definitions (AUPRC as
average precision, Gorodkin's MCC, Brier's multi-class score, the Fleiss-Cohen-Everitt kappa
interval, Clopper-Pearson reader intervals) and output columns are on the R help pages
(``?spinedlr::multiclass_metrics``). Bootstrap intervals resample ``groups`` (patients), so
several discs of one patient move together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import polars as pl

from spinedlr.stats.bridge import _invoke, call, call_value, from_r

__all__ = [
    "multiclass_metrics", "multiclass_confusion", "hand_till_auc", "ordinal_probabilities",
    "cohen_kappa", "rater_comparison", "nomogram", "Nomogram",
]

Names = Sequence[str]
Labels = Sequence[str] | Sequence[int]


def multiclass_metrics(data: pl.DataFrame, outcome: str, probs: Names, classes: Labels | None = None,
                       groups: str | None = None, B: int = 500, seed: int | None = None,
                       conf_level: float = 0.95) -> pl.DataFrame:
    """Macro/per-class AUROC, Hand-Till AUC, macro/per-class AUPRC (average precision), macro/
    per-class F1, accuracy, MCC and Brier score, with percentile bootstrap CIs over ``groups``
    (columns metric, class, estimate, lower, upper, n_boot)."""
    return call("multiclass_metrics", data=data, outcome=outcome, probs=list(probs),
                classes=None if classes is None else list(classes), groups=groups, B=B, seed=seed,
                conf_level=conf_level)


def multiclass_confusion(data: pl.DataFrame, outcome: str, probs: Names, classes: Labels | None = None,
                         groups: str | None = None, B: int = 500, seed: int | None = None,
                         conf_level: float = 0.95) -> pl.DataFrame:
    """Confusion matrix, long (truth, predicted, n), with the share of each true class and its
    bootstrap CI over ``groups`` (proportion, lower, upper, n_boot)."""
    return call("multiclass_confusion", data=data, outcome=outcome, probs=list(probs),
                classes=None if classes is None else list(classes), groups=groups, B=B, seed=seed,
                conf_level=conf_level)


def hand_till_auc(y: Labels, score: Sequence[float], classes: Labels | None = None) -> float:
    """Hand & Till's AUC of one ordinal score (higher = later class); for class probabilities
    use the ``hand_till_auc`` row of :func:`multiclass_metrics`."""
    return call_value("hand_till_auc", y=list(y), x=list(score), classes=None if classes is None else list(classes))


def ordinal_probabilities(data: pl.DataFrame, outcome: str, predictors: Names,
                          newdata: pl.DataFrame | None = None,
                          method: Literal["orm", "polr"] = "orm") -> pl.DataFrame:
    """Proportional-odds baseline (``rms::orm`` or ``MASS::polr``) fitted on ``data``: each row
    of ``newdata``'s ``prob_<class>`` and the ``predicted`` class."""
    return call("ordinal_probabilities", data=data, outcome=outcome, predictors=list(predictors),
                newdata=data if newdata is None else newdata, method=method)


def cohen_kappa(data: pl.DataFrame, rater1: str, rater2: str, conf_level: float = 0.95) -> pl.DataFrame:
    """Cohen's kappa between two raters with the Fleiss-Cohen-Everitt interval (psych's)."""
    return call("cohen_kappa", data=data, rater1=rater1, rater2=rater2, conf_level=conf_level)


def rater_comparison(data: pl.DataFrame, outcome: str, score: str, threshold: float, raters: Names,
                     conf_level: float = 0.95) -> pl.DataFrame:
    """The model (``score >= threshold``) and each rater on the same rows: accuracy,
    sensitivity, specificity, PPV, NPV, F1 with exact intervals and McNemar's exact P."""
    return call("rater_comparison", data=data, outcome=outcome, score=score, threshold=threshold,
                raters=list(raters), conf_level=conf_level)


@dataclass(frozen=True)
class Nomogram:
    """An ``rms::nomogram`` as data: the points of each axis tick and the line from total points
    to risk, ``risk = expit(intercept + total / scale)``."""

    points: pl.DataFrame
    scale: float
    intercept: float

    def risk(self, total_points: Sequence[float] | np.ndarray) -> np.ndarray:
        """Predicted risk at the given total points."""
        return 1.0 / (1.0 + np.exp(-(self.intercept + np.asarray(total_points, dtype=float) / self.scale)))


def nomogram(data: pl.DataFrame, outcome: str, predictors: Names, fun_at: Sequence[float] | None = None,
             maxscale: float = 100) -> Nomogram:
    """Nomogram of the ``rms::lrm`` fit of ``outcome`` on ``predictors`` (axis, kind, value,
    points per tick; the Risk axis gives the total points of each risk)."""
    kw = {} if fun_at is None else {"fun_at": list(fun_at)}
    res = _invoke("nomogram", {"data": data, "outcome": outcome, "predictors": list(predictors),
                               "maxscale": maxscale, **kw})
    return Nomogram(points=from_r(res), scale=float(res.do_slot("scale")[0]),
                    intercept=float(res.do_slot("intercept")[0]))
