"""Robust feature normalisation: (x − median) / IQR with statistics from the training rows.

Zou et al. robust-normalise every radiomics feature "by subtracting the median … and then
dividing by the interquartile range to reduce data discrepancies between different
centers". Median and IQR resist the outliers radiomics features have (one patient with a
huge shape feature moves a mean/SD z-score for everyone else, not a median/IQR one).

Conventions, chosen to equal ``sklearn.preprocessing.RobustScaler`` (defaults) to the bit:

* quantiles are ``numpy.percentile`` with its default ``method="linear"`` (Hyndman & Fan
  type 7, R's default ``quantile`` type too): IQR = P75 − P25;
* a feature whose IQR is 0 on the training rows (below 10 machine epsilons, RobustScaler's
  cut-off: constant, or more than half its values tied, common for shape and sparse texture
  features) is only centred: its scale is 1. It is logged, not an error, because such a
  feature can still carry information in its tail.

Why not RobustScaler itself: it silently ignores NaN in ``fit`` and passes it through
``transform``; a missing radiomics value is an extraction failure this package reports
instead (a clear error here).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

log = logging.getLogger(__name__)


class RobustNormaliser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Per feature (x − median) / (P75 − P25) from the rows given to ``fit``; IQR 0 → 1."""

    def fit(self, X, y=None):
        X = validate_data(self, X)
        q25, self.center_, q75 = np.percentile(X, [25, 50, 75], axis=0)
        iqr = q75 - q25
        zero = iqr < 10 * np.finfo(float).eps
        self.zero_iqr_ = np.flatnonzero(zero)
        if self.zero_iqr_.size:
            log.warning("robust normalisation: %d feature(s) with IQR 0 on the training rows "
                        "are only centred", self.zero_iqr_.size)
        self.scale_ = np.where(zero, 1.0, iqr)
        return self

    def transform(self, X):
        check_is_fitted(self, "scale_")
        X = validate_data(self, X, reset=False)
        return (X - self.center_) / self.scale_
