"""Registry of classifiers by name, each with a default grid searched inside the training rows.

Why a registry: the studies compare a handful of standard classifiers (Fan et al.: nine;
Zou et al.: a dozen; Pfirrmann: LightGBM, RF, LR). Naming them in study.yaml, with a small
default grid that a config may replace, keeps the comparison configuration rather than code.
Why the search lives in ``fit_model``: it is the only place hyper-parameters are chosen, it
sees only the rows it is given (one outer training set), and its inner folds are drawn over
patients, so no tuning decision ever sees a test row or splits a patient.

Scale-sensitive models (LR, SVM, KNN, MLP) z-score inside their pipeline, fitted on the
training rows; tree ensembles take the features as they are. ``radscore`` is the reference
study's Radscore logistic regression (spinedlr.select.radscore.RadscoreLogit): binary only,
nothing to tune. SVM probabilities come from Platt scaling on three internal folds of the
training rows (row-level, as scikit-learn does it; never test rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from spinedlr.design.splits import PatientKFold

MODEL_NAMES = ("radscore", "lr", "svm", "knn", "decision_tree", "random_forest", "extra_trees",
               "adaboost", "mlp", "xgboost", "lightgbm")


@dataclass(frozen=True)
class ModelSpec:
    """A named classifier: ``make(seed)`` builds it; ``grid`` uses its own parameter names,
    which ``prefix`` maps onto the built estimator's (e.g. ``clf__C``)."""

    name: str
    make: Callable[[int], BaseEstimator]
    grid: dict[str, list] = field(default_factory=dict)
    prefix: str = ""
    binary_only: bool = False


def _scaled(clf: BaseEstimator) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def _radscore(seed: int) -> BaseEstimator:
    from spinedlr.select.radscore import RadscoreLogit  # the reference implementation
    return RadscoreLogit()


def _lr(seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression
    return _scaled(LogisticRegression(max_iter=5000))


def _svm(seed: int) -> BaseEstimator:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC
    return _scaled(CalibratedClassifierCV(SVC(random_state=seed), cv=3, ensemble=False))


def _knn(seed: int) -> BaseEstimator:
    from sklearn.neighbors import KNeighborsClassifier
    return _scaled(KNeighborsClassifier())


def _tree(seed: int) -> BaseEstimator:
    from sklearn.tree import DecisionTreeClassifier
    return DecisionTreeClassifier(random_state=seed)


def _rf(seed: int) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(200, random_state=seed, n_jobs=1)


def _et(seed: int) -> BaseEstimator:
    from sklearn.ensemble import ExtraTreesClassifier
    return ExtraTreesClassifier(200, random_state=seed, n_jobs=1)


def _ada(seed: int) -> BaseEstimator:
    from sklearn.ensemble import AdaBoostClassifier
    return AdaBoostClassifier(random_state=seed)


def _mlp(seed: int) -> BaseEstimator:
    from sklearn.neural_network import MLPClassifier
    return _scaled(MLPClassifier((32,), max_iter=2000, random_state=seed))


def _xgb(seed: int) -> BaseEstimator:
    from xgboost import XGBClassifier
    return XGBClassifier(n_estimators=200, tree_method="hist", n_jobs=1, random_state=seed,
                         verbosity=0)


def _lgbm(seed: int) -> BaseEstimator:
    from lightgbm import LGBMClassifier
    return LGBMClassifier(n_estimators=200, min_child_samples=5, n_jobs=1, random_state=seed,
                          verbose=-1)


REGISTRY: dict[str, ModelSpec] = {s.name: s for s in (
    ModelSpec("radscore", _radscore, binary_only=True),
    ModelSpec("lr", _lr, {"C": [0.01, 0.1, 1.0, 10.0]}, "clf__"),
    ModelSpec("svm", _svm, {"C": [0.1, 1.0, 10.0]}, "clf__estimator__"),
    ModelSpec("knn", _knn, {"n_neighbors": [3, 5, 9]}, "clf__"),
    ModelSpec("decision_tree", _tree, {"max_depth": [2, 3, 5, None]}),
    ModelSpec("random_forest", _rf, {"max_depth": [3, None], "min_samples_leaf": [1, 5]}),
    ModelSpec("extra_trees", _et, {"max_depth": [3, None], "min_samples_leaf": [1, 5]}),
    ModelSpec("adaboost", _ada, {"n_estimators": [50, 200], "learning_rate": [0.1, 1.0]}),
    ModelSpec("mlp", _mlp, {"alpha": [1e-4, 1e-2, 1.0]}, "clf__"),
    ModelSpec("xgboost", _xgb, {"max_depth": [2, 4], "learning_rate": [0.05, 0.2]}),
    ModelSpec("lightgbm", _lgbm, {"num_leaves": [7, 31], "learning_rate": [0.05, 0.2]}),
)}


def check_grid(name: str, grid: dict[str, list]) -> None:
    """ValueError naming the model when a grid key is not one of its parameters."""
    spec = REGISTRY[name]
    known = sorted(k[len(spec.prefix):] for k in spec.make(0).get_params(deep=True)
                   if k.startswith(spec.prefix) and "__" not in k[len(spec.prefix):])
    unknown = sorted(set(grid) - set(known))
    if unknown:
        raise ValueError(f"model {name}: unknown hyper-parameter(s) {', '.join(unknown)}; "
                         f"its parameters are {', '.join(known)}")
    empty = sorted(k for k, v in grid.items() if not v)
    if empty:
        raise ValueError(f"model {name}: grid entries {', '.join(empty)} list no values")


def macro_ovr_auc(estimator: BaseEstimator, X: np.ndarray, y: np.ndarray) -> float:
    """Scorer: macro one-vs-rest AUROC over the classes present in ``y`` (both sides).

    Equal to scikit-learn's ``roc_auc_ovr`` when every class is present. Why not that one: an
    inner fold without some class (a rare grade in a few patients) makes it fail, the fold
    scores NaN, every grid point's mean is then NaN, and the search silently returns its
    first grid point."""
    y = np.asarray(y)
    proba = estimator.predict_proba(X)
    column = {c: i for i, c in enumerate(estimator.classes_)}
    aucs = [roc_auc_score(y == c, proba[:, column[c]]) for c in np.unique(y)
            if c in column and 0 < int((y == c).sum()) < len(y)]
    return float(np.mean(aucs)) if aucs else float("nan")


def fit_model(spec: ModelSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, *,
              grid: dict[str, list] | None = None, folds: int = 5, seed: int = 0) -> GridSearchCV:
    """Search ``grid`` (default: the spec's) by patient-grouped CV on these rows, refit the
    best on all of them. Pass only training rows: the search sees nothing else."""
    y = np.asarray(y)
    n_classes = len(np.unique(y))
    if spec.binary_only and n_classes > 2:
        raise ValueError(f"model {spec.name} needs a binary outcome; got {n_classes} classes")
    grid = spec.grid if grid is None else grid
    search = GridSearchCV(
        spec.make(seed),
        {spec.prefix + k: list(v) for k, v in grid.items()},
        scoring="roc_auc" if n_classes == 2 else macro_ovr_auc,
        cv=PatientKFold(folds, stratify=True, random_state=seed),
        n_jobs=1,
    )
    return search.fit(X, y, groups=groups)


def predict_proba(model: BaseEstimator, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class code 0..n_classes-1, even for a model that
    never saw some class in its training rows (that column is 0)."""
    out = np.zeros((len(X), n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return out


def cross_val_proba(spec: ModelSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None,
                    splitter, *, grid: dict[str, list] | None = None, folds: int = 5,
                    seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities (rows x classes): each outer training set is searched and
    fitted on its own; rows in no test set stay NaN. For splitters whose test sets do not
    overlap (k-fold, LOOCV, leave-one-group-out); a repeated split keeps the last repeat."""
    y = np.asarray(y)
    n_classes = int(y.max()) + 1
    out = np.full((len(y), n_classes), np.nan)
    for train, test in splitter.split(X, y, groups):
        g = None if groups is None else np.asarray(groups)[train]
        model = fit_model(spec, X[train], y[train], g, grid=grid, folds=folds, seed=seed)
        out[test] = predict_proba(model, X[test], n_classes)
    return out
