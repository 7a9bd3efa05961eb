"""Classifier signatures (Zou 2025's Rad-sign and DL-sign) as a stacking transformer.

Zou et al. define "the output probabilities of the optimal classifier from the radiomics
model" as the Rad-sign (likewise the DL-sign) and fit the combined model on the signatures
plus clinical factors. If the signature of a training patient came from a classifier that
was fitted on that patient, the combined model would learn from in-sample, over-confident
probabilities and over-weight the signature. So, as in scikit-learn's stacking:

* ``fit_transform`` (what a Pipeline calls while fitting) returns **out-of-fold**
  probabilities: each training row's signature comes from the fold model that did not see
  it (nor any other row of the same patient when ``groups`` is given);
* ``transform`` (new patients: validation, test, external cohorts) uses the estimator
  refitted on all training rows.

Consequence to keep in mind: ``fit(X).transform(X)`` on the training rows is *in-sample*;
the training signatures are ``oof_`` (or the return value of ``fit_transform``).

Folds: an integer ``cv`` means shuffled ``StratifiedKFold`` seeded by ``random_state``, or
``StratifiedGroupKFold`` when ``groups`` is passed to ``fit`` (patient ids; in a Pipeline
``fit(X, y, <step>__groups=ids)``). ``groups`` is a fit argument, not a constructor
argument, so that cloning inside a resample can never pair it with the wrong rows. A
splitter object is used as given, but the folds are checked: every row predicted exactly
once, no group on both sides of a fold.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted, validate_data

from spinedlr.select.filters import binary_outcome
from spinedlr.select.folds import check_events
from spinedlr.select.fusion import check_name


def positive_probability(model, X: np.ndarray) -> np.ndarray:
    """P(outcome = 1) from a fitted binary classifier."""
    return model.predict_proba(X)[:, list(model.classes_).index(1)]


class OutOfFoldSignature(TransformerMixin, BaseEstimator):
    """One column ``name``: out-of-fold P(y = 1) on training rows, refitted model's on new rows."""

    def __init__(self, estimator, cv=10, name: str = "signature", random_state: int = 0):
        self.estimator = estimator
        self.cv = cv
        self.name = name
        self.random_state = random_state

    def _splitter(self, y: np.ndarray, groups):
        if hasattr(self.cv, "split"):
            return self.cv
        if not isinstance(self.cv, (int, np.integer)) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2 or a splitter, not {self.cv!r}")
        check_events(y, int(self.cv), "the out-of-fold signature")
        if groups is None:
            return StratifiedKFold(int(self.cv), shuffle=True, random_state=self.random_state)
        if len(np.unique(groups)) < self.cv:
            raise ValueError(f"{len(np.unique(groups))} patients (groups) are too few for "
                             f"{self.cv} folds")
        return StratifiedGroupKFold(int(self.cv), shuffle=True, random_state=self.random_state)

    def fit(self, X, y, groups=None):
        self.fit_transform(X, y, groups)
        return self

    def fit_transform(self, X, y, groups=None):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        check_name(self.name, "signature name")
        if not hasattr(self.estimator, "predict_proba"):
            raise ValueError(f"{type(self.estimator).__name__} has no predict_proba; a "
                             "signature needs class probabilities")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != y.shape:
                raise ValueError(f"groups has {groups.size} entries for {y.size} rows")
        self.folds_ = list(self._splitter(y, groups).split(X, y, groups))
        oof = np.full(len(y), np.nan)
        hits = np.zeros(len(y), dtype=int)
        for k, (tr, te) in enumerate(self.folds_):
            if groups is not None and np.intersect1d(groups[tr], groups[te]).size:
                raise ValueError(f"fold {k + 1} has a patient (group) on both sides")
            if len(np.unique(y[tr])) < 2:
                raise ValueError(f"fold {k + 1}'s training rows have one outcome class only")
            oof[te] = positive_probability(clone(self.estimator).fit(X[tr], y[tr]), X[te])
            hits[te] += 1
        if (hits != 1).any():
            raise ValueError("the cv splitter must predict every training row exactly once "
                             f"({int((hits == 0).sum())} never, {int((hits > 1).sum())} twice+)")
        self.oof_ = oof
        self.estimator_ = clone(self.estimator).fit(X, y)
        return oof[:, None]

    def transform(self, X):
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        return positive_probability(self.estimator_, X)[:, None]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "estimator_")
        return np.asarray([self.name], dtype=object)
