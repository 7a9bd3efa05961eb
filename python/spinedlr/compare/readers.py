"""The model against human readers (Zou et al. 2025: two surgeons), as tidy Polars tables.

The statistics are the R package's (``rater_comparison``, ``cohen_kappa``, ``roc_summary``);
this module only assembles the table a paper shows: every reader with accuracy,
sensitivity, specificity, PPV, NPV, F1 (exact CIs), McNemar's P against the model and the
AUC with its DeLong CI, and the agreement between every pair of raters.

A rater's AUC is the AUC of a 0/1 call, i.e. (sensitivity + specificity) / 2: one point on
the ROC plane, not a curve. It is reported because the papers put it beside the model's, but
the fair comparison with the model is at the model's threshold (the accuracy columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import polars as pl

from spinedlr.stats import roc_summary
from spinedlr.stats.multiclass import cohen_kappa, rater_comparison


def model_vs_raters(data: pl.DataFrame, outcome: str, score: str, threshold: float,
                    raters: Sequence[str], conf_level: float = 0.95) -> pl.DataFrame:
    """``rater_comparison``'s table (model first, then each rater) with auc, auc_lower and
    auc_upper (DeLong) appended: the model's from ``score``, a rater's from the 0/1 call."""
    table = rater_comparison(data, outcome, score, threshold, list(raters), conf_level)
    aucs = []
    for reader in [score, *raters]:
        r = roc_summary(data.select(outcome, reader), reader, outcome, conf_level)
        aucs.append({"reader": reader, "auc": r["auc"][0], "auc_lower": r["auc_lower"][0],
                     "auc_upper": r["auc_upper"][0]})
    return table.join(pl.DataFrame(aucs), on="reader", how="left", maintain_order="left")


def rater_agreement(data: pl.DataFrame, raters: Sequence[str], conf_level: float = 0.95) -> pl.DataFrame:
    """Cohen's kappa (Fleiss-Cohen-Everitt CI) for every pair of raters, one row each."""
    if len(raters) < 2:
        raise ValueError("agreement needs at least two raters")
    return pl.concat([cohen_kappa(data, a, b, conf_level) for a, b in combinations(raters, 2)])
