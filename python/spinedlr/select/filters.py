"""Univariate and redundancy filters, each a scikit-learn selector.

Every filter keeps at least one feature: if its rule would remove all of them (common on a
small resample), it keeps the single best feature by its own criterion and logs a warning.
That is the documented adjustment that lets cross-validation and the bootstrap refit the
whole chain in every resample instead of crashing or producing NaN.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.stats import mannwhitneyu, rankdata
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

log = logging.getLogger(__name__)


def binary_outcome(y) -> np.ndarray:
    """Check that ``y`` is a 0/1 outcome with both classes present; return it as int."""
    y = np.asarray(y)
    vals = set(np.unique(y).tolist())
    if not vals <= {0, 1} or len(vals) < 2:
        raise ValueError(f"the outcome must be 0/1 with both classes present, got {sorted(vals)}")
    return y.astype(int)


def point_biserial(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r between each column and the 0/1 outcome (= point-biserial r)."""
    xc = X - X.mean(axis=0)
    yc = y - y.mean()
    den = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        r = xc.T @ yc / den
    return np.nan_to_num(r, nan=0.0)


def corr_matrix(X: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix of the columns (constant columns correlate 0)."""
    z = X - X.mean(axis=0)
    sd = np.sqrt((z**2).sum(axis=0))
    sd[sd == 0] = np.inf
    z = z / sd
    return z.T @ z


class _Selector(SelectorMixin, BaseEstimator):
    """Shared plumbing: ``support_`` is the mask; ``_keep_one`` is the empty-set adjustment."""

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def _keep_one(self, mask: np.ndarray, score: np.ndarray, rule: str) -> np.ndarray:
        if mask.any():
            return mask
        best = int(np.argmax(score))
        log.warning("%s: no feature passes %s; keeping the best one (column %d)",
                    type(self).__name__, rule, best)
        self.adjusted_ = True
        out = np.zeros_like(mask)
        out[best] = True
        return out


class DropConstant(_Selector):
    """Drop features with (numerically) zero variance, logging how many.

    A constant feature carries no information and breaks correlations, ICCs and
    standardisation (division by zero → NaN). It can also appear only inside a bootstrap
    resample, which is why this is a pipeline step and not a one-off clean-up.
    """

    def __init__(self, rtol: float = 1e-12):
        self.rtol = rtol

    def fit(self, X, y=None):
        X = validate_data(self, X)
        sd = X.std(axis=0)
        scale = np.maximum(np.abs(X).max(axis=0), 1.0)
        self.support_ = sd > self.rtol * scale
        if not self.support_.all():
            log.info("dropped %d constant feature(s)", int((~self.support_).sum()))
        if not self.support_.any():
            raise ValueError("every feature is constant; nothing to select from")
        return self


class AssociationFilter(_Selector):
    """Drop features whose |point-biserial r| with the 0/1 outcome is below ``threshold``.

    Point-biserial r is Pearson's r against the binary outcome; the reference study's
    "association with outcomes < 0.3" is read as this correlation.
    """

    def __init__(self, threshold: float = 0.3):
        self.threshold = threshold

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.r_ = point_biserial(X, binary_outcome(y))
        self.support_ = self._keep_one(np.abs(self.r_) >= self.threshold, np.abs(self.r_),
                                       f"|r| >= {self.threshold}")
        return self


def greedy_prune(C: np.ndarray, relevance: np.ndarray, threshold: float) -> np.ndarray:
    """Visit features from most to least relevant; keep one unless |C| > threshold with a kept one.

    For every pair above the threshold this keeps the more relevant member (the greedy
    order guarantees it) — the usual reading of "drop one of each correlated pair".
    """
    order = np.argsort(-relevance, kind="stable")
    keep = np.zeros(len(relevance), dtype=bool)
    for j in order:
        if not (np.abs(C[j, keep]) > threshold).any():
            keep[j] = True
    return keep


class CorrelationPruner(_Selector):
    """Pearson |r| > ``threshold`` redundancy removal keeping the more outcome-relevant feature.

    Relevance is |point-biserial r| with the outcome. ``method="spearman"`` ranks the
    features first (Spearman rho; Fan et al.'s greedy redundancy removal).
    """

    def __init__(self, threshold: float = 0.9, method: str = "pearson"):
        self.threshold = threshold
        self.method = method

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        if self.method == "spearman":
            X = rankdata(X, axis=0)
        elif self.method != "pearson":
            raise ValueError(f"method must be 'pearson' or 'spearman', not {self.method!r}")
        self.support_ = greedy_prune(corr_matrix(X), np.abs(point_biserial(X, y)),
                                     self.threshold)
        return self


class MannWhitneyFilter(_Selector):
    """Keep features whose two-sided Mann–Whitney U test between outcome groups has p < alpha."""

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        self.pvalues_ = mannwhitneyu(X[y == 1], X[y == 0], axis=0).pvalue
        self.support_ = self._keep_one(self.pvalues_ < self.alpha, -self.pvalues_,
                                       f"p < {self.alpha}")
        return self
