"""Everything fitted in the fusion stage, fitted on the training cohort only.

The chains are scikit-learn Pipelines of spinedlr.select transformers, so the classifier
comparison can refit them inside every one of its folds:

* radiomics: drop constants -> robust (or z-score) normalisation -> F-test (p > 0.05
  removed) -> Pearson |r| > 0.9 greedy deletion -> 10-fold LASSO (Zou et al.);
* deep: drop constants -> z-score -> PCA -> LASSO (the paper's order for the pooled
  features of the 3D network).

Then (``fit_models``): the registry's classifiers of ``design.models`` compared by grid
search inside k-fold CV on the training cohort (spinedlr.compare.grid, chains refitted in
each fold); the top-k vote's winner, tuned on all training rows, gives each family's
signature — out-of-fold probabilities on the training cohort, the refitted model's on the
validation and test cohorts (spinedlr.select.signature); the combined model is a logistic
regression of the signatures and the clinical factors selected on the training cohort
(spinedlr.fusion.clinical), and a clinical-only model of those factors is fitted beside it
as the comparator. Validation and test rows are only ever transformed.

The deep features come from 3D networks trained on the training cohort's outcomes, so an
out-of-fold classifier on top of them is not enough: a training patient's features already
carry its outcome. With ``DeepFolds`` (what the stage passes) the training cohort's DL
signature is out of fold for the whole deep pipeline: fold k's patients are predicted from
the features of the networks trained without them, through a deep chain and a winner
(tuned by the same grid search) fitted on the other training patients only. The comparison
still uses the full networks' features, so its deep-family AUCs remain optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from spinedlr.compare.grid import Cohort, Comparison, compare_classifiers
from spinedlr.design.models import REGISTRY, fit_model
from spinedlr.fusion.settings import FusionSettings
from spinedlr.select.embedded import LassoSelector
from spinedlr.select.filters import DropConstant
from spinedlr.select.fusion import DeepPCA, ZScore
from spinedlr.select.normalise import RobustNormaliser
from spinedlr.select.redundancy import GreedyRedundancyDeletion
from spinedlr.select.screening import FTestScreen
from spinedlr.select.signature import OutOfFoldSignature, positive_probability

SIGNATURES = {"radiomics": "rad_sign", "deep": "dl_sign"}
"""Feature family -> its signature's column."""


def radiomics_chain(fs: FusionSettings, seed: int) -> Pipeline:
    """The radiomics selection chain (see module docstring)."""
    norm = {"robust": [("normalise", RobustNormaliser())], "zscore": [("normalise", ZScore())],
            "none": []}[fs.normalise]
    return Pipeline([("constant", DropConstant()), *norm, ("f_test", FTestScreen(fs.f_test_p)),
                     ("pearson", GreedyRedundancyDeletion(fs.pearson_threshold, "pearson")),
                     ("lasso", LassoSelector(folds=fs.lasso_folds, random_state=seed))])


def deep_chain(fs: FusionSettings, seed: int, n_rows: int, n_columns: int) -> Pipeline:
    """The deep chain; the PCA keeps at most ``fusion.deep_pca`` components, fewer when the
    smallest training set it is fitted on (one comparison or deep-signature fold) has fewer
    rows or columns."""
    rows_in_fold = n_rows - -(-n_rows // min(fs.cv_folds, fs.deep_signature_folds))
    k = max(1, min(fs.deep_pca, n_columns, rows_in_fold - 1))
    return Pipeline([("constant", DropConstant()), ("zscore", ZScore()),
                     ("pca", DeepPCA(k, prefix="pc")),
                     ("lasso", LassoSelector(folds=fs.lasso_folds, random_state=seed))])


@dataclass(frozen=True)
class Fitted:
    """What ``fit_models`` returns: the comparison, selected features per family, the
    signature and model scores of every patient, and the winner's tuned parameters."""

    comparison: Comparison
    selected: dict[str, list[str]]
    scores: pl.DataFrame
    params: dict[str, dict]
    combined_terms: list[str]


@dataclass(frozen=True)
class DeepFolds:
    """The training cohort's out-of-fold deep features: ``fold`` per row (0..K-1 for a
    training patient, -1 elsewhere); ``features[k]``: every row's pooled features from the
    networks trained without fold k (the full table's columns, same rows)."""

    fold: np.ndarray
    features: list[pl.DataFrame]


def _selected(chain: Pipeline, names: list[str]) -> list[str]:
    """Selected feature names (radiomics) or principal components (deep) of a fitted chain."""
    return [str(n) for n in chain[:-1].get_feature_names_out(names)[chain[-1].get_support()]]


def _tuned(chain: Pipeline, spec, grid, X: np.ndarray, y: np.ndarray, rows: np.ndarray,
           folds: int, seed: int) -> tuple[Pipeline, np.ndarray, object]:
    """Chain fitted and the winner's grid searched (then refitted) on ``rows`` only:
    (chain, every row transformed, the search)."""
    chain = clone(chain).fit(X[rows], y[rows])
    Z = chain.transform(X)
    return chain, Z, fit_model(spec, Z[rows], y[rows], None, grid=grid, folds=folds, seed=seed)


def _fold_signature(chain: Pipeline, spec, grid, deep: DeepFolds, y: np.ndarray,
                    train: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The training rows' DL signature, out of fold for networks, chain and classifier: fold
    k is predicted by the pipeline fitted on the other training rows' fold-k features."""
    out = np.full(len(y), np.nan)
    for k, table in enumerate(deep.features):
        held = deep.fold == k
        _, Z, tuned = _tuned(chain, spec, grid, table.to_numpy().astype(float), y, train & ~held,
                             folds, seed)
        out[held] = positive_probability(tuned.best_estimator_, Z[held])
    if np.isnan(out[train]).any():
        raise ValueError("DeepFolds.fold must give every training row a fold")
    return out[train]


def _signature(family: str, chain: Pipeline, spec, grid, X: np.ndarray, y: np.ndarray,
               train: np.ndarray, fs: FusionSettings, folds: int, seed: int,
               deep: DeepFolds | None = None) -> tuple[np.ndarray, dict]:
    """Chain and winner tuned on the training rows; the refitted model's probability outside
    them. On the training rows: the out-of-fold signature of these features, or with ``deep``
    the whole deep pipeline's out-of-fold one (``_fold_signature``)."""
    chain, Z, tuned = _tuned(chain, spec, grid, X, y, train, folds, seed)
    out = np.empty(len(y))
    if deep is None:
        sig = OutOfFoldSignature(clone(tuned.best_estimator_), cv=fs.signature_folds,
                                 name=SIGNATURES[family], random_state=seed)
        out[train] = sig.fit_transform(Z[train], y[train])[:, 0]
        out[~train] = sig.transform(Z[~train])[:, 0]
    else:
        out[train] = _fold_signature(chain, spec, grid, deep, y, train, folds, seed)
        out[~train] = positive_probability(tuned.best_estimator_, Z[~train])
    best = {k.removeprefix(spec.prefix): v for k, v in tuned.best_params_.items()}
    return out, {"chain": chain, "params": best}


def _logit(X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    """A standardised logistic regression fitted on the training rows; P(y = 1) of all rows."""
    model = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=5000))])
    return model.fit(X[train], y[train]).predict_proba(X)[:, 1]


def fit_models(features: dict[str, pl.DataFrame], clinical: pl.DataFrame, y: np.ndarray,
               train: np.ndarray, fs: FusionSettings, models: list[str],
               grids: dict[str, dict], search_folds: int, seed: int,
               deep_folds: DeepFolds | None = None) -> Fitted:
    """Compare, select, build signatures and the combined model (module docstring).

    ``features``: family -> one row per patient (rows aligned with ``y`` and ``train``);
    ``clinical``: the coded clinical columns of the combined model, same rows (none when no
    factor was selected: then no clinical model, and the combined model has the signatures);
    ``deep_folds``: the fold networks' features, whenever the deep features come from
    networks trained on these outcomes (None only for features that do not).
    """
    chains = {"radiomics": radiomics_chain(fs, seed)}
    if "deep" in features:
        chains["deep"] = deep_chain(fs, seed, int(train.sum()), features["deep"].width)
    table = pl.concat([features[f].rename(lambda c, f=f: f"{f}:{c}") for f in chains],
                      how="horizontal")
    sets = {f: [f"{f}:{c}" for c in features[f].columns] for f in chains}
    comparison = compare_classifiers(
        Cohort(table.filter(pl.Series(train)), y[train]), sets, models=models, selection=chains,
        grids=grids or None, folds=fs.cv_folds, inner_folds=search_folds, seed=seed,
        vote_k=min(3, len(models)), rank_by="cv", progress=False)
    spec, grid = REGISTRY[comparison.winner], grids.get(comparison.winner)
    scores: dict[str, np.ndarray] = {}
    selected, params = {}, {}
    for family, chain in chains.items():
        X = features[family].to_numpy().astype(float)
        scores[SIGNATURES[family]], fit = _signature(
            family, chain, spec, grid, X, y, train, fs, search_folds, seed,
            deep_folds if family == "deep" else None)
        selected[family] = _selected(fit["chain"], features[family].columns)
        params[family] = fit["params"]
    sig = np.column_stack([scores[SIGNATURES[f]] for f in chains])
    if clinical.width:  # no clinical model when no factor was selected
        C = clinical.to_numpy().astype(float)
        scores["clinical"] = _logit(C, y, train)
        sig = np.column_stack([sig, C])
    scores["combined"] = _logit(sig, y, train)
    terms = [SIGNATURES[f] for f in chains] + clinical.columns
    return Fitted(comparison, selected, pl.DataFrame(scores), params, terms)
