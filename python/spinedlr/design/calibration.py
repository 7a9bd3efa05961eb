"""Post-hoc calibration of a fitted classifier: on validation rows, or on out-of-fold
predictions of the training rows (isotonic or sigmoid).

Why never on the rows the model was fitted on: calibrating on in-sample predictions learns
the model's over-confidence on data it memorised. Two honest sources of predictions:

* ``isotonic`` / ``sigmoid`` / ``temperature``: a validation split. The fitted model is frozen (scikit-learn's
  FrozenEstimator, the replacement of ``cv="prefit"``), so only the map is learned on the
  validation rows. With a small cohort the validation split is small too (SPIDER: ~12
  patients) and an isotonic map fitted on it collapses the ranking into a few steps.
* ``isotonic_cv`` / ``sigmoid_cv`` / ``temperature_cv``: out-of-fold predictions of *all* the training rows
  (patient-grouped inner folds, each fold refitting the whole pipeline), then the model
  refitted on all of them (scikit-learn's ``CalibratedClassifierCV(ensemble=False)``, with
  the folds drawn over patients). The map sees every training patient once, unfitted-on.

The maps are scikit-learn's: isotonic and sigmoid one-vs-rest with the class probabilities
renormalised to sum to 1 (a monotone map per class, so the rows' order can still change
after renormalising); temperature one parameter for all classes (softmax of logits / T).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from spinedlr.design.models import predict_proba

SPLIT_METHODS = ("isotonic", "sigmoid", "temperature")
"""Maps fitted on a validation split."""
CV_METHODS = {"isotonic_cv": "isotonic", "sigmoid_cv": "sigmoid", "temperature_cv": "temperature"}
"""Maps fitted on out-of-fold predictions of the training rows, by the map each one fits."""
METHODS = ("none", *SPLIT_METHODS, *CV_METHODS)


def _check_classes(classes, y: np.ndarray, rows: str) -> None:
    missing = sorted(set(np.asarray(classes).tolist()) - set(np.unique(y).tolist()))
    if missing:
        raise ValueError(f"the {rows} hold no case of class(es) {missing}; a calibration map "
                         "cannot be fitted for them")


def calibrate(model: BaseEstimator, X_validation: np.ndarray, y_validation: np.ndarray,
              method: str) -> BaseEstimator:
    """The model with a calibration map fitted on the validation rows; ``none`` returns it."""
    if method == "none":
        return model
    if method not in SPLIT_METHODS:
        raise ValueError(f"calibration on validation rows must be one of none, "
                         f"{', '.join(SPLIT_METHODS)}; got {method!r}")
    try:
        _check_classes(model.classes_, y_validation, "validation rows")
    except ValueError as err:
        raise ValueError(f"{err} (enlarge the validation split)") from None
    return CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(
        X_validation, y_validation)


class _Probabilities(ClassifierMixin, BaseEstimator):
    """A classifier whose input already is the class probabilities: the calibration map's
    input when the predictions were made beforehand (out of fold)."""

    def __init__(self, n_classes: int):
        self.n_classes = n_classes

    def fit(self, X=None, y=None) -> "_Probabilities":
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X) -> np.ndarray:
        return np.asarray(X, dtype=float)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


class OutOfFoldCalibrated(ClassifierMixin, BaseEstimator):
    """A fitted model followed by a calibration map of its class probabilities (columns
    0..n_classes-1, a class the model never saw being 0) learned on out-of-fold predictions."""

    def __init__(self, estimator: BaseEstimator, mapping: BaseEstimator, n_classes: int):
        self.estimator, self.mapping, self.n_classes = estimator, mapping, n_classes

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.n_classes)

    def predict_proba(self, X) -> np.ndarray:
        return self.mapping.predict_proba(predict_proba(self.estimator, X, self.n_classes))

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


def calibrate_out_of_fold(model: BaseEstimator, P_out_of_fold: np.ndarray, y: np.ndarray,
                          method: str) -> OutOfFoldCalibrated:
    """``model`` (fitted on all the training rows) with a map fitted on ``P_out_of_fold``,
    the training rows' out-of-fold class probabilities (rows x classes, class codes
    0..classes-1 in ``y``). ``method`` is ``isotonic_cv`` or ``sigmoid_cv``."""
    if method not in CV_METHODS:
        raise ValueError(f"out-of-fold calibration must be one of {', '.join(CV_METHODS)}; got {method!r}")
    P = np.asarray(P_out_of_fold, dtype=float)
    y = np.asarray(y)
    if len(P) != len(y) or np.isnan(P).any():
        raise ValueError("every training row needs one out-of-fold prediction")
    _check_classes(range(P.shape[1]), y, "training rows")
    mapping = CalibratedClassifierCV(FrozenEstimator(_Probabilities(P.shape[1]).fit()),
                                     method=CV_METHODS[method]).fit(P, y)
    return OutOfFoldCalibrated(model, mapping, P.shape[1])
