"""Compare classifiers on the selected features by k-fold CV AUC (Fan et al., Zou et al.).

The selection chain is refitted on each training fold (no leakage) and every classifier is
then trained on that fold's selected, z-scored features. XGBoost and LightGBM (Fan et al.)
are not dependencies; scikit-learn's gradient boosting stands in for them.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.ensemble import (
    AdaBoostClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from spinedlr.select.filters import binary_outcome
from spinedlr.select.folds import stratified_folds


def classifiers(seed: int) -> dict:
    """The nine classifiers, with scikit-learn defaults except where noted."""
    return {
        "LR": LogisticRegression(max_iter=5000),
        "SVM": SVC(random_state=seed),  # no predict_proba: scored by decision_function
        "KNN": KNeighborsClassifier(),
        "DT": DecisionTreeClassifier(random_state=seed),
        "RF": RandomForestClassifier(200, random_state=seed, n_jobs=1),
        "ET": ExtraTreesClassifier(200, random_state=seed, n_jobs=1),
        "GB": GradientBoostingClassifier(random_state=seed),
        "MLP": MLPClassifier((32,), max_iter=2000, random_state=seed),
        "AdaBoost": AdaBoostClassifier(random_state=seed),
    }


def _score(model, X) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.decision_function(X)


def compare_classifiers(selection: Pipeline, X: np.ndarray, y: np.ndarray, folds: int = 5,
                        seed: int = 0) -> pl.DataFrame:
    """(classifier, auc_mean, auc_sd, folds) — one row per classifier, best first."""
    y = binary_outcome(y)
    aucs: dict[str, list[float]] = {k: [] for k in classifiers(seed)}
    for tr, te in stratified_folds(y, folds, seed):
        sel = clone(selection).fit(X[tr], y[tr])
        xtr, xte = sel.transform(X[tr]), sel.transform(X[te])
        for name, clf in classifiers(seed).items():
            m = make_pipeline(StandardScaler(), clf).fit(xtr, y[tr])
            aucs[name].append(roc_auc_score(y[te], _score(m, xte)))
    return pl.DataFrame(
        [{"classifier": k, "auc_mean": float(np.mean(v)), "auc_sd": float(np.std(v, ddof=1)),
          "folds": folds} for k, v in aucs.items()]
    ).sort("auc_mean", descending=True)
