"""Univariate p-value screens between the two outcome classes (Fan 2024, Zou 2025).

* ``MannWhitneyScreen`` — two-sided Mann–Whitney U test, keep p < ``alpha`` (Fan et al.:
  "Mann–Whitney U-test … P < 0.05"). p-values are scipy's ``mannwhitneyu`` defaults, so ties
  are handled as scipy does: the exact distribution only for small samples without ties,
  otherwise the normal approximation with tie-corrected variance and continuity correction.
* ``FTestScreen`` — one-way ANOVA F test (for two classes F = t² of the pooled-variance
  t test, Zou et al.'s "independent-sample F test"), drop p > ``alpha``, i.e. keep p ≤ alpha,
  the paper's wording. p-values are scikit-learn's ``f_classif``.

Why a constant column is an error here and not a silent drop: its F statistic is 0/0 and its
U test is all ties, so any p-value would be an artefact. Drop constants explicitly first
(``filters.DropConstant``, refitted in every resample) so the funnel shows where they went.
If no feature passes, the single feature with the smallest p-value is kept and a warning
logged, the empty-set adjustment every selector of this package makes (see ``filters``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.feature_selection import f_classif
from sklearn.utils.validation import validate_data

from spinedlr.select.filters import _Selector, binary_outcome


def constant_columns(X: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """Indices of columns that are constant up to ``rtol`` of their scale (DropConstant's rule)."""
    sd = X.std(axis=0)
    scale = np.maximum(np.abs(X).max(axis=0), 1.0)
    return np.flatnonzero(sd <= rtol * scale)


def reject_constant(X: np.ndarray, who: str) -> None:
    """Raise a one-line ValueError naming the constant columns of ``X`` (if any)."""
    const = constant_columns(X)
    if const.size:
        shown = ", ".join(str(int(j)) for j in const[:10]) + (" …" if const.size > 10 else "")
        raise ValueError(f"{who}: {const.size} constant column(s) (index {shown}); "
                         "drop them first (DropConstant)")


class _PValueScreen(_Selector):
    """Shared fit: validate, compute per-feature p-values, keep those passing ``alpha``."""

    rule = ""

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def _pvalues(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _passes(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {self.alpha!r}")
        reject_constant(X, type(self).__name__)
        self.statistic_, self.pvalues_ = self._pvalues(X, y)
        self.support_ = self._keep_one(self._passes(self.pvalues_), -self.pvalues_,
                                       f"{self.rule} {self.alpha}")
        return self


class MannWhitneyScreen(_PValueScreen):
    """Keep features whose two-sided Mann–Whitney U test between the classes has p < alpha.

    ``statistic_`` is U of the outcome-1 group (scipy's first sample).
    """

    rule = "p <"

    def _pvalues(self, X, y):
        res = mannwhitneyu(X[y == 1], X[y == 0], alternative="two-sided", axis=0)
        return res.statistic, res.pvalue

    def _passes(self, p):
        return p < self.alpha


class FTestScreen(_PValueScreen):
    """Drop features whose ANOVA F test between the classes has p > alpha (keep p ≤ alpha)."""

    rule = "p <="

    def _pvalues(self, X, y):
        return f_classif(X, y)

    def _passes(self, p):
        return p <= self.alpha
