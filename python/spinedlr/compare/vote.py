"""The top-k vote of Fan et al. (2024): pick one algorithm for every feature set.

Fan et al. found no classifier best on every feature set, so they counted how often each one
was among the three best of a feature set and chose the most frequent. Rules here, so the
choice is reproducible:

* within a feature set, classifiers are ranked by AUC, highest first; equal AUCs are ordered
  by classifier name, so exactly ``k`` classifiers get a vote from each feature set;
* the winner has the most votes; a tie in votes is broken by the higher mean AUC over all
  feature sets (every classifier's AUC, voted or not), then by name.

The paper ranked by the *external* AUC; that makes the external cohort part of model
selection, so it is no longer an untouched test. ``compare_classifiers`` ranks by the
out-of-fold CV AUC by default and can be told to follow the paper.
"""

from __future__ import annotations

import polars as pl


def top_k_vote(aucs: pl.DataFrame, k: int = 3) -> pl.DataFrame:
    """Vote table from ``aucs`` (columns feature_set, model, auc; one row per pair).

    Returns one row per model, winner first: model, votes, mean_auc, rank (1 = winner),
    winner (bool).
    """
    missing = {"feature_set", "model", "auc"} - set(aucs.columns)
    if missing:
        raise ValueError(f"top_k_vote needs columns {sorted(missing)}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if aucs["auc"].is_null().any() or aucs["auc"].is_nan().any():
        raise ValueError("every (feature_set, model) needs an AUC to be ranked")
    if aucs.select("feature_set", "model").is_duplicated().any():
        raise ValueError("each (feature_set, model) pair must appear once")
    ranked = aucs.sort(["feature_set", "auc", "model"], descending=[False, True, False]).with_columns(
        place=pl.int_range(1, pl.len() + 1).over("feature_set"))
    table = ranked.group_by("model").agg(
        votes=(pl.col("place") <= k).sum().cast(pl.Int64), mean_auc=pl.col("auc").mean())
    table = table.sort(["votes", "mean_auc", "model"], descending=[True, True, False])
    return table.with_columns(rank=pl.int_range(1, pl.len() + 1),
                              winner=pl.int_range(0, pl.len()) == 0)
