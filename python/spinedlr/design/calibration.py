"""Post-hoc calibration of a fitted classifier on the validation rows (isotonic or sigmoid).

Why on the validation rows only: calibrating on the training rows learns the model's
over-confidence on data it memorised, and calibrating on the test rows reports a calibration
that was tuned to the test set. The fitted model is frozen (scikit-learn's FrozenEstimator,
the replacement of ``cv="prefit"``), so only the calibration map is learned. Multi-class
models are calibrated one-vs-rest and the class probabilities renormalised to sum to 1.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator


def calibrate(model: BaseEstimator, X_validation: np.ndarray, y_validation: np.ndarray,
              method: str) -> BaseEstimator:
    """The model with a calibration map fitted on the validation rows; ``none`` returns it."""
    if method == "none":
        return model
    if method not in ("isotonic", "sigmoid"):
        raise ValueError(f"calibration must be none, isotonic or sigmoid; got {method!r}")
    missing = sorted(set(np.asarray(model.classes_).tolist()) - set(np.unique(y_validation).tolist()))
    if missing:
        raise ValueError(f"the validation rows hold no case of class(es) {missing}; a "
                         "calibration map cannot be fitted for them (enlarge the validation split)")
    return CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(
        X_validation, y_validation)
