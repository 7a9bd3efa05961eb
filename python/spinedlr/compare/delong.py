"""Pairwise paired-DeLong tests between models scored on the same patients.

Each pair is one call of the R package's ``compare_auc`` (pROC's ``roc.test``, DeLong,
paired), so the P values are those a statistician gets in R. The DeLong test statistic is
symmetric in the two models, so each unordered pair is tested once and mirrored.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import polars as pl

from spinedlr.stats import compare_auc


def delong_matrix(data: pl.DataFrame, scores: Sequence[str], outcome: str) -> pl.DataFrame:
    """P values of the paired DeLong test for every pair of ``scores`` (columns of ``data``).

    Returns a square table: column ``model`` (the row's score), then one column per score;
    entry (a, b) = entry (b, a) = P of a vs b; the diagonal is null.
    """
    scores = list(scores)
    if len(set(scores)) != len(scores) or len(scores) < 2:
        raise ValueError(f"need at least two distinct scores, got {scores}")
    p: dict[tuple[str, str], float] = {}
    for a, b in combinations(scores, 2):
        test = compare_auc(data.select(outcome, a, b), a, b, outcome)
        p[a, b] = p[b, a] = float(test["p_value"][0])
    return pl.DataFrame({"model": scores} | {
        b: pl.Series(b, [p.get((a, b)) for a in scores], dtype=pl.Float64) for b in scores})
