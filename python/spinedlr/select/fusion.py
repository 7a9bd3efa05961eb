"""PCA of deep features and z-score fusion of feature blocks (Fan 2024, Zou 2025).

Fan et al. reduce 2048 ResNeXt50 features to 32 principal components, then "fuse" them
with the radiomics features: every column is z-scored ("subtracting the mean, dividing
…") and the blocks are concatenated into one DLR feature set that the usual selection
chain then screens. Zou et al. concatenate the deep features of several ROIs, z-score them
and then run PCA. Both orders are compositions of the two steps here:

* ``DeepPCA`` — principal components named ``deep_pc01, deep_pc02, …`` (a prefix of your
  choice), full deterministic SVD (no random step, so nothing to seed; 2048 columns × ~1,000
  rows take about a second);
* ``ZScore`` — (x − training mean) / training SD, SD with ddof = 0 (StandardScaler's);
* ``zscore_fusion(blocks, reducers)`` — a ``ColumnTransformer`` that runs each block's
  optional reducer (e.g. ``DeepPCA``) and ``ZScore`` on its own columns and concatenates
  the results with block-qualified names ``block__feature``.

Every statistic (means, SDs, principal axes) comes from the rows given to ``fit``; new rows
are transformed with them, never refitted, which is what keeps an external cohort honest.
A constant column is an error (its z-score is 0/0): drop constants first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    clone,
)
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from spinedlr.select.screening import reject_constant

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def check_name(name: str, what: str) -> str:
    """A feature-name part: letters, digits, single underscores ('__' separates blocks)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or "__" in name:
        raise ValueError(f"{what} {name!r} must be a letter then letters, digits or single "
                         "underscores")
    return name


class ZScore(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """(x − mean) / SD per column with the training rows' mean and SD (ddof = 0)."""

    def fit(self, X, y=None):
        X = validate_data(self, X)
        reject_constant(X, "ZScore")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        return self

    def transform(self, X):
        check_is_fitted(self, "scale_")
        X = validate_data(self, X, reset=False)
        return (X - self.mean_) / self.scale_


class DeepPCA(TransformerMixin, BaseEstimator):
    """The first ``n_components`` principal components, named ``{prefix}01…``.

    Centres with the training mean (no scaling: put ``ZScore`` before it for Zou et al.'s
    standardised PCA). ``explained_variance_ratio_`` is kept for the report.
    """

    def __init__(self, n_components: int = 32, prefix: str = "deep_pc"):
        self.n_components = n_components
        self.prefix = prefix

    def fit(self, X, y=None):
        X = validate_data(self, X)
        check_name(self.prefix, "PCA prefix")
        most = min(X.shape)
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= most:
            raise ValueError(f"PCA n_components must be an integer in 1..{most} "
                             f"(rows, columns = {X.shape}), not {self.n_components!r}")
        self.pca_ = PCA(n_components=int(self.n_components), svd_solver="full").fit(X)
        self.explained_variance_ratio_ = self.pca_.explained_variance_ratio_
        return self

    def transform(self, X):
        check_is_fitted(self, "pca_")
        X = validate_data(self, X, reset=False)
        return self.pca_.transform(X)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "pca_")
        k = self.pca_.n_components_
        width = max(2, len(str(k)))
        return np.asarray([f"{self.prefix}{i:0{width}d}" for i in range(1, k + 1)], dtype=object)


def zscore_fusion(blocks: Mapping[str, Sequence[int]],
                  reducers: Mapping[str, TransformerMixin] | None = None) -> ColumnTransformer:
    """Z-score each block (after its optional reducer) and concatenate as ``block__feature``.

    ``blocks`` maps a block name (e.g. ``rad_sag``, ``deep_sag``) to its column indices in X,
    in output order; columns outside every block are dropped. ``reducers`` maps block names
    to a transformer run before the z-score (cloned, e.g. ``DeepPCA(32)``).
    """
    reducers = dict(reducers or {})
    if not blocks:
        raise ValueError("z-score fusion needs at least one block")
    unknown = set(reducers) - set(blocks)
    if unknown:
        raise ValueError(f"reducers for unknown block(s): {sorted(unknown)}")
    seen: set[int] = set()
    steps = []
    for name, cols in blocks.items():
        check_name(name, "block name")
        cols = [int(c) for c in cols]
        if not cols:
            raise ValueError(f"block {name!r} has no columns")
        if seen & set(cols):
            raise ValueError(f"block {name!r} shares columns with an earlier block")
        seen |= set(cols)
        chain = ZScore() if name not in reducers else Pipeline(
            [("reduce", clone(reducers[name])), ("zscore", ZScore())])
        steps.append((name, chain, cols))
    return ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=True)
