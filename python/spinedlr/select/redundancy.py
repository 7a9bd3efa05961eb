"""Greedy recursive deletion of redundant features (Fan 2024: Spearman; Zou 2025: Pearson).

Both papers keep "one of the features with a correlation coefficient greater than 0.9" by
"a greedy recursive deletion strategy …: the feature with the greatest redundancy in the
current set was deleted each time". Unlike ``filters.CorrelationPruner`` (which keeps the
more outcome-relevant member of each pair), this rule never looks at the outcome: it deletes
hubs of the correlation graph first, so a chain a ~ b ~ c (a and c not correlated) loses
only b, where a pairwise rule could lose two features.

The rule, exactly. Two features are *linked* when |r| > ``threshold`` (r = Pearson, or
Spearman = Pearson on average ranks). Among the features still in the set, repeat until no
two are linked: delete the feature with

1. the most links to features still in the set; on a tie,
2. the largest sum of |r| over those links; on a tie,
3. the largest sum of |r| with every other feature still in the set (its overall
   redundancy with the current set); on a tie,
4. the highest column index, so of interchangeable features the one listed first stays.

Keys 2–3 are compared after rounding to 9 decimals, so floating-point summation order never
decides between features that are tied in exact arithmetic (identical columns). The
correlation matrix is never stored: the links are a boolean matrix (p² bytes; 64 MB for
8,000 features). The outcome is ignored, so ``fit`` accepts ``y`` only for Pipeline compatibility.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.utils.validation import validate_data

from spinedlr.select.filters import _Selector
from spinedlr.select.screening import reject_constant

_BLOCK = 1024  # columns of the correlation matrix computed at once


def standardised(X: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit norm, so Z.T @ Z is the Pearson matrix."""
    Z = X - X.mean(axis=0)
    return Z / np.sqrt((Z**2).sum(axis=0))


def _exact_order(Zt: np.ndarray, links: np.ndarray, alive: np.ndarray,
                 cands: np.ndarray) -> np.ndarray:
    """``cands`` sorted by keys 2, 3, 4 of the rule, recomputed from ``Zt`` (= Z.T)."""
    r = np.abs(Zt[cands] @ Zt[alive].T)  # candidates × alive
    r[np.arange(cands.size), np.searchsorted(np.flatnonzero(alive), cands)] = 0.0
    linked_sum = np.round((r * links[np.ix_(cands, alive)]).sum(axis=1), 9)
    overall = np.round(r.sum(axis=1), 9)
    # lexsort: last key is primary; every key is "larger goes first"
    return cands[np.lexsort((cands, overall, linked_sum))[::-1]]


def greedy_delete(Z: np.ndarray, threshold: float) -> list[int]:
    """Column indices deleted, in order, from standardised columns ``Z`` (rule in module doc).

    Speed: degrees and the running sums of key 2 are updated from the deleted feature's
    links only; only the candidates within 1e-6 of the best running sum (a superset of
    those tied after rounding) are re-ranked exactly with keys 2–4, so the running sums'
    rounding drift never decides.
    """
    p = Z.shape[1]
    Zt = np.ascontiguousarray(Z.T)  # row j = feature j, so one correlation row is contiguous
    links = np.zeros((p, p), dtype=bool)  # symmetric; rows of deleted features are ignored
    linked = np.zeros(p)
    for start in range(0, p, _BLOCK):
        rows = np.arange(start, min(start + _BLOCK, p))
        r = np.abs(Zt[rows] @ Zt.T)
        r[np.arange(rows.size), rows] = 0.0
        links[rows] = r > threshold
        linked[rows] = (r * links[rows]).sum(axis=1)
    degree = links.sum(axis=1)
    alive = np.ones(p, dtype=bool)
    deleted: list[int] = []
    while degree.max() > 0:
        cands = np.flatnonzero(degree == degree.max())
        cands = cands[linked[cands] >= linked[cands].max() - 1e-6]
        if cands.size > 1:
            cands = _exact_order(Zt, links, alive, cands)
        j = int(cands[0])
        partners = np.flatnonzero(links[j] & alive)
        linked[partners] -= np.abs(Zt[partners] @ Zt[j])
        degree[partners] -= 1
        alive[j] = False
        degree[~alive] = 0
        deleted.append(j)
    return deleted


class GreedyRedundancyDeletion(_Selector):
    """Delete the most redundant feature until no pair has |r| > ``threshold`` (see module doc).

    ``method="spearman"`` (Fan et al.) or ``"pearson"`` (Zou et al.). ``deleted_`` lists the
    column indices in deletion order.
    """

    def __init__(self, threshold: float = 0.9, method: str = "spearman"):
        self.threshold = threshold
        self.method = method

    def fit(self, X, y=None):
        X = validate_data(self, X)
        if self.method not in ("pearson", "spearman"):
            raise ValueError(f"method must be 'pearson' or 'spearman', not {self.method!r}")
        if not 0 <= self.threshold < 1:
            raise ValueError(f"threshold must be in [0, 1), not {self.threshold!r}")
        if X.shape[0] < 3:
            raise ValueError(f"correlations need at least 3 rows, got {X.shape[0]}")
        reject_constant(X, type(self).__name__)
        if self.method == "spearman":
            X = rankdata(X, axis=0)
        self.deleted_ = greedy_delete(standardised(X), self.threshold)
        self.support_ = np.ones(X.shape[1], dtype=bool)
        self.support_[self.deleted_] = False
        return self
