"""Grading models: feature set + pipeline + grid, tuned and selected inside training rows.

Why every step sits in one scikit-learn pipeline: imputation (T1 missing for ~half of the
discs), scaling, the deep-feature PCA and the multinomial LASSO are all *fitted*, so they
must be refitted on each training fold; a pipeline searched by ``design.models.fit_model``
(patient-grouped inner folds) guarantees that, and the cap on the LASSO's kept features is
a grid parameter chosen by that nested CV rather than on any test fold.

Models (``MODELS``):
- ``baseline_lr``: the crude 16-feature intensity baseline (whole crop and centre) with a
  multinomial logistic regression; the bar every other model must clear.
- ``lr`` / ``random_forest`` / ``lightgbm``: the fused T2 set (baseline intensity, segmented
  disc intensity/geometry, 2D radiomics in the disc, the disc level, patient-relative
  brightness/height), multinomial LASSO selection, then the classifier.
- ``ordinal_polr``: the proportional-odds baseline in R (``MASS::polr`` through the bridge)
  on the LASSO's eight strongest features.
- ablations ``rf_t1`` (+ T1 features, missing indicator, median imputed inside folds) and
  ``rf_deep`` (+ frozen ResNet50 features reduced to 10 principal components inside folds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from spinedlr.design.models import ModelSpec, fit_model, predict_proba
from spinedlr.grading.features import family_columns
from spinedlr.select.multinomial_lasso import MultinomialLassoSelector

FUSED = ("baseline", "disc", "radiomics", "level", "patient")
N_CLASSES = 5


class OrdinalPolr(ClassifierMixin, BaseEstimator):
    """Proportional-odds model fitted in R (``spinedlr::ordinal_probabilities``); keeps the
    training rows and refits at predict time, as the R function fits and predicts in one
    call (cheap: a handful of predictors)."""

    def __init__(self, method: str = "polr"):
        self.method = method

    def fit(self, X, y):
        self.X_, self.y_ = np.asarray(X, dtype=float), np.asarray(y)
        self.classes_ = np.unique(self.y_)
        return self

    def predict_proba(self, X) -> np.ndarray:
        from spinedlr.stats.multiclass import ordinal_probabilities

        names = [f"x{i}" for i in range(self.X_.shape[1])]
        train = pl.DataFrame(self.X_, schema=names).with_columns(pl.Series("grade", self.y_))
        new = pl.DataFrame(np.asarray(X, dtype=float), schema=names)
        out = ordinal_probabilities(train, "grade", names, new, method=self.method)
        return out.select([f"prob_{c}" for c in self.classes_]).to_numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _selected(clf: BaseEstimator, scale: bool, seed: int) -> list[tuple[str, BaseEstimator]]:
    steps = [("scale", StandardScaler())] if scale else []
    return steps + [("selector", MultinomialLassoSelector(0.1, 30, random_state=seed)), ("clf", clf)]


def _lr(seed: int) -> BaseEstimator:
    return LogisticRegression(C=0.1, max_iter=5000)


def _rf(seed: int) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(300, min_samples_leaf=3, random_state=seed, n_jobs=1)


def _lgbm(seed: int) -> BaseEstimator:
    from lightgbm import LGBMClassifier
    return LGBMClassifier(n_estimators=200, learning_rate=0.03, num_leaves=7, min_child_samples=10,
                          subsample=0.8, subsample_freq=1, colsample_bytree=0.7, random_state=seed,
                          n_jobs=1, verbose=-1)


def _pipeline(columns: list[str], seed: int, clf: Callable[[int], BaseEstimator], scale: bool,
              select: bool = True) -> Pipeline:
    """Impute (median, training rows) -> [deep PCA] -> [scale] -> [LASSO] -> classifier."""
    deep = np.array([c.startswith("deep_") for c in columns])
    steps: list[tuple[str, BaseEstimator]] = [("impute", SimpleImputer(strategy="median"))]
    if deep.any():
        steps.append(("deep_pca", ColumnTransformer([
            ("tab", "passthrough", np.flatnonzero(~deep)),
            ("deep", make_pipeline(StandardScaler(), PCA(10, random_state=seed)), np.flatnonzero(deep))])))
    if select:
        steps += _selected(clf(seed), scale, seed)
    else:
        steps += [("scale", StandardScaler()), ("clf", clf(seed))]
    return Pipeline(steps)


def _polr(columns: list[str], seed: int) -> Pipeline:
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                     ("selector", MultinomialLassoSelector(0.1, 8, random_state=seed)),
                     ("clf", OrdinalPolr())])


@dataclass(frozen=True)
class GradingModel:
    """A named model: its feature families, pipeline builder (columns, seed) and grid."""

    name: str
    families: tuple[str, ...]
    build: Callable[[list[str], int], Pipeline]
    grid: dict[str, list]

    def columns(self, table: pl.DataFrame) -> list[str]:
        return family_columns(table, self.families)


CAP = {"selector__max_features": [15, 30, 60]}
MODELS: dict[str, GradingModel] = {m.name: m for m in (
    GradingModel("baseline_lr", ("baseline",), partial(_pipeline, clf=_lr, scale=True, select=False),
                 {"clf__C": [0.1, 1.0]}),
    GradingModel("lr", FUSED, partial(_pipeline, clf=_lr, scale=True), CAP | {"clf__C": [0.1, 1.0]}),
    GradingModel("random_forest", FUSED, partial(_pipeline, clf=_rf, scale=False), CAP),
    GradingModel("lightgbm", FUSED, partial(_pipeline, clf=_lgbm, scale=False), CAP),
    GradingModel("ordinal_polr", FUSED, _polr, {}),
    GradingModel("rf_t1", FUSED + ("t1",), partial(_pipeline, clf=_rf, scale=False), CAP),
    GradingModel("rf_deep", FUSED + ("deep",), partial(_pipeline, clf=_rf, scale=False), CAP),
)}


def design_matrix(model: GradingModel, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, class codes 0..4 for grades 1..5, patient ids) of the table for this model."""
    X = table.select(model.columns(table)).to_numpy().astype(float)
    return X, table["pfirrmann"].to_numpy() - 1, table["patient_id"].to_numpy()


def fit(model: GradingModel, table: pl.DataFrame, seed: int = 0, inner_folds: int = 3):
    """The model searched over its grid by patient-grouped inner CV and refitted on all the
    given rows (pass training rows only)."""
    X, y, g = design_matrix(model, table)
    spec = ModelSpec(model.name, partial(model.build, model.columns(table)), model.grid)
    return fit_model(spec, X, y, g, folds=inner_folds, seed=seed)


def predict(fitted, model: GradingModel, table: pl.DataFrame) -> np.ndarray:
    """Class probabilities (rows x 5) for the table's discs."""
    X, _, _ = design_matrix(model, table)
    return predict_proba(fitted, X, N_CLASSES)


def cross_val_proba(model: GradingModel, table: pl.DataFrame, splitter, seed: int = 0,
                    inner_folds: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    """(out-of-fold probabilities, each fold's test rows): every outer training set gets its
    own grid search, imputation, PCA and LASSO."""
    X, y, g = design_matrix(model, table)
    out = np.full((len(y), N_CLASSES), np.nan)
    tests = []
    for train, test in splitter.split(X, y, g):
        fitted = fit(model, table[train], seed, inner_folds)
        out[test] = predict(fitted, model, table[test])
        tests.append(test)
    return out, tests
