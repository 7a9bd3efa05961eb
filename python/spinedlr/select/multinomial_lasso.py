"""Multinomial LASSO feature selection for multi-class outcomes (e.g. Pfirrmann grade 1-5).

Why multinomial and not one binary LASSO per class: one L1-penalised softmax model shares a
single penalty across classes, and a feature is kept when any class's coefficient is
non-zero, which is the grouped reading of "LASSO reduced the features to N candidates" in
multi-class radiomics papers. Features are z-scored (on the rows given to ``fit`` only) so
the penalty treats them alike. ``max_features`` caps the kept set by the largest absolute
coefficient over classes: with ~300 discs a free LASSO keeps more features than the
downstream model can use, and the cap is a hyper-parameter tuned by nested CV (it is a
parameter of this transformer, so ``GridSearchCV`` over a pipeline tunes it inside the
training rows).
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import validate_data

from spinedlr.select.filters import _Selector


_MEMO: OrderedDict[str, np.ndarray] = OrderedDict()
_MEMO_SIZE = 64


def _l1_coef(Z: np.ndarray, y: np.ndarray, C: float, max_iter: int, seed: int) -> np.ndarray:
    """Coefficients (classes x features) of the L1 softmax fit, memoised on the exact rows:
    a grid search over ``max_features`` (and over the classifier after it) refits the same
    LASSO on the same inner-fold rows once per grid point, and saga is the slow step."""
    key = hashlib.sha1(Z.tobytes() + y.tobytes() + repr((Z.shape, C, max_iter, seed)).encode()).hexdigest()
    if key not in _MEMO:
        model = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", max_iter=max_iter,
                                   random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # saga's tolerance; the support is stable
            _MEMO[key] = model.fit(Z, y).coef_.copy()
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return _MEMO[key]


class MultinomialLassoSelector(_Selector):
    """Keep the features with a non-zero coefficient (any class) in an L1 multinomial
    logistic regression with inverse penalty ``C``, at most ``max_features`` of them (the
    largest maximum absolute coefficients; ``None`` = no cap). An empty selection keeps the
    single strongest feature (logged by the shared selector plumbing)."""

    def __init__(self, C: float = 0.1, max_features: int | None = None, max_iter: int = 2000,
                 random_state: int = 0):
        self.C, self.max_features = C, max_features
        self.max_iter, self.random_state = max_iter, random_state

    def fit(self, X, y):
        X = validate_data(self, X)
        Z = StandardScaler().fit_transform(X)
        self.coef_ = _l1_coef(np.nan_to_num(Z), np.asarray(y), self.C, self.max_iter, self.random_state)
        score = np.abs(self.coef_).max(axis=0)
        mask = score > 0
        if self.max_features is not None and mask.sum() > self.max_features:
            keep = np.argsort(-score, kind="stable")[: self.max_features]
            mask = np.zeros_like(mask)
            mask[keep] = True
        self.support_ = self._keep_one(mask, score, f"C={self.C}")
        return self
