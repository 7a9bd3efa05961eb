"""Every classifier x every feature set, by patient-grouped CV and on an external cohort.

Fan et al. (2024) compared nine classifiers on six feature sets (radiomics and deep features
of two planes, their fusion, clinical factors) by 5-fold CV in the training centre and on an
external centre. What this module guarantees, so that the comparison is fair:

* **No leakage.** In every outer fold the feature-selection chain (a scikit-learn
  ``Pipeline`` of spinedlr.select transformers, cloned) and the classifier's grid search
  (``spinedlr.design.models.fit_model``: inner patient-grouped folds) are fitted on that
  fold's training rows only; the held-out rows are only predicted. The outer folds are
  patient-grouped and stratified, and the same for every classifier and feature set, so the
  out-of-fold predictions are paired and DeLong tests between them are valid.
* **One AUC definition.** Out-of-fold probabilities are pooled over the folds and the AUC
  with its DeLong CI is the R package's ``roc_summary`` (pROC), as for every AUC in a report.
* **A frozen model on the external cohort.** The chain and search are refitted once on all
  training rows; the external rows are only predicted (nothing is refitted there).

The top-k vote (``spinedlr.compare.vote``) then picks one algorithm, and the DeLong matrix
(``spinedlr.compare.delong``) compares that algorithm's models of the feature sets, in the
training (out-of-fold) and external cohorts.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from joblib import Parallel, delayed
from rich.progress import Progress
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from spinedlr.compare.delong import delong_matrix
from spinedlr.compare.vote import top_k_vote
from spinedlr.design.models import MODEL_NAMES, REGISTRY, ModelSpec, check_grid, fit_model, predict_proba
from spinedlr.design.splits import PatientKFold
from spinedlr.select.filters import binary_outcome
from spinedlr.stats import roc_summary

Selection = Pipeline | Mapping[str, Pipeline | None] | None


@dataclass(frozen=True)
class Cohort:
    """One cohort's rows: the columns of every feature set, the 0/1 outcome, and the patient id
    of each row (None: one row per patient)."""

    features: pl.DataFrame
    outcome: np.ndarray
    groups: np.ndarray | None = None


@dataclass(frozen=True)
class Comparison:
    """Results as Polars tables.

    summary: feature_set, model, cohort ("cv"/"external"), n, n_events, auc, auc_lower,
        auc_upper (DeLong), params (JSON of the hyper-parameters chosen on all training rows;
        null without an external cohort).
    predictions: feature_set, model, cohort, row (0-based within the cohort), outcome,
        probability (out-of-fold for "cv").
    vote: the top-k vote (spinedlr.compare.vote.top_k_vote), ranked on ``ranked_by``.
    delong: cohort, model, then one column per feature set: paired-DeLong P values between
        the winning algorithm's models of the feature sets (empty with one feature set).
    """

    summary: pl.DataFrame
    predictions: pl.DataFrame
    vote: pl.DataFrame
    delong: pl.DataFrame
    winner: str
    ranked_by: str


def _specs(models: Sequence[str | ModelSpec], grids: Mapping[str, dict] | None) -> list[ModelSpec]:
    specs = []
    for m in models:
        if isinstance(m, str) and m not in REGISTRY:
            raise ValueError(f"unknown model {m!r}; registered: {', '.join(MODEL_NAMES)}")
        spec = REGISTRY[m] if isinstance(m, str) else m
        if grids and spec.name in grids and spec.name in REGISTRY:
            check_grid(spec.name, grids[spec.name])
        specs.append(spec)
    if len({s.name for s in specs}) != len(specs):
        raise ValueError("model names must be unique")
    return specs


def _matrix(cohort: Cohort, columns: Sequence[str], what: str) -> np.ndarray:
    missing = [c for c in columns if c not in cohort.features.columns]
    if missing or not columns:
        raise ValueError(f"feature set {what!r}: no columns, or column(s) {missing[:5]} not in the "
                         "cohort's features")
    return cohort.features.select(columns).to_numpy().astype(float)


def _fit_predict(selection: Pipeline | None, spec: ModelSpec, grid: dict | None, X: np.ndarray,
                 y: np.ndarray, groups: np.ndarray | None, new: np.ndarray, inner_folds: int,
                 seed: int) -> tuple[np.ndarray, dict]:
    """Fit the chain and search on (X, y) only; P(y = 1) of the rows of ``new``."""
    if selection is not None:
        chain = clone(selection).fit(X, y)
        X, new = chain.transform(X), chain.transform(new)
    model = fit_model(spec, X, y, groups, grid=grid, folds=inner_folds, seed=seed)
    best = {k.removeprefix(spec.prefix): v for k, v in model.best_params_.items()}
    return predict_proba(model, new, 2)[:, 1], best


def _out_of_fold(selection: Pipeline | None, spec: ModelSpec, grid: dict | None, X: np.ndarray,
                 y: np.ndarray, groups: np.ndarray | None, splits: list[tuple[np.ndarray, np.ndarray]],
                 inner_folds: int, seed: int) -> np.ndarray:
    """Out-of-fold P(y = 1): each outer fold's chain and search fitted on its training rows."""
    oof = np.full(len(y), np.nan)
    for train, test in splits:
        g = None if groups is None else groups[train]
        oof[test], _ = _fit_predict(selection, spec, grid, X[train], y[train], g, X[test],
                                    inner_folds, seed)
    if np.isnan(oof).any():
        raise ValueError("the outer folds left some rows unpredicted")
    return oof


def _pair(fs: str, selection: Pipeline | None, spec: ModelSpec, grid: dict | None, X: np.ndarray,
          y: np.ndarray, groups: np.ndarray | None, splits: list[tuple[np.ndarray, np.ndarray]],
          X_ext: np.ndarray | None, y_ext: np.ndarray | None, inner_folds: int,
          seed: int) -> tuple[tuple[str, str], list[pl.DataFrame], dict | None]:
    """One (feature set, model): its out-of-fold rows and, with an external cohort, the rows of
    the model refitted on all training rows and its chosen hyper-parameters.

    Convergence warnings are silenced here, in the process that fits (a worker when
    ``n_jobs > 1``): an MLP or LASSO grid point stopping at its iteration limit is one point
    of a search that picks by CV AUC, not news for the console (dozens per comparison)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = [_rows(fs, spec.name, "cv", y, _out_of_fold(selection, spec, grid, X, y, groups,
                                                            splits, inner_folds, seed))]
        best = None
        if X_ext is not None:
            p, best = _fit_predict(selection, spec, grid, X, y, groups, X_ext, inner_folds, seed)
            rows.append(_rows(fs, spec.name, "external", y_ext, p))
    return (fs, spec.name), rows, best


def _rows(fs: str, model: str, cohort: str, y: np.ndarray, p: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"feature_set": fs, "model": model, "cohort": cohort,
                         "row": np.arange(len(y)), "outcome": y.astype(np.int64), "probability": p})


def _summary(predictions: pl.DataFrame, params: dict[tuple[str, str], str]) -> pl.DataFrame:
    """AUC with DeLong CI of every (feature set, model, cohort), from the R package."""
    out = []
    for (fs, model, cohort), part in predictions.group_by(["feature_set", "model", "cohort"],
                                                          maintain_order=True):
        r = roc_summary(part.select("outcome", "probability"), "probability", "outcome")
        out.append({"feature_set": fs, "model": model, "cohort": cohort, "n": int(r["n"][0]),
                    "n_events": int(r["n_events"][0]), "auc": r["auc"][0],
                    "auc_lower": r["auc_lower"][0], "auc_upper": r["auc_upper"][0],
                    "params": params.get((fs, model)) if cohort == "external" else None})
    return pl.DataFrame(out, schema_overrides={"params": pl.Utf8})


def _delong(predictions: pl.DataFrame, winner: str, feature_sets: list[str]) -> pl.DataFrame:
    """DeLong matrices of the winner's models of the feature sets, per cohort."""
    tables = []
    if len(feature_sets) < 2:
        return pl.DataFrame(schema={"cohort": pl.Utf8, "model": pl.Utf8})
    for cohort in predictions["cohort"].unique(maintain_order=True):
        part = predictions.filter(pl.col("model") == winner, pl.col("cohort") == cohort)
        wide = part.pivot("feature_set", index=["row", "outcome"], values="probability").sort("row")
        tables.append(delong_matrix(wide, feature_sets, "outcome")
                      .select(pl.lit(cohort).alias("cohort"), pl.all()))
    return pl.concat(tables)


def _check_cohorts(train: Cohort, external: Cohort | None,
                   feature_sets: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, np.ndarray | None]:
    """The 0/1 outcomes of both cohorts, after checking lengths and every feature set's columns."""
    if not feature_sets:
        raise ValueError("no feature sets given")
    reserved = sorted(set(feature_sets) & {"row", "outcome", "model", "cohort"})
    if reserved:
        raise ValueError(f"feature set names {reserved} are reserved for the output tables' columns")
    outcomes = []
    for name, c in (("training", train), ("external", external)):
        if c is None:
            outcomes.append(None)
            continue
        if len(c.outcome) != c.features.height:
            raise ValueError(f"the {name} cohort's outcome and features differ in length")
        for fs, columns in feature_sets.items():
            _matrix(c, columns, fs)
        outcomes.append(binary_outcome(c.outcome))
    return outcomes[0], outcomes[1]


def compare_classifiers(
    train: Cohort, feature_sets: Mapping[str, Sequence[str]], *, external: Cohort | None = None,
    models: Sequence[str | ModelSpec] = MODEL_NAMES, selection: Selection = None,
    grids: Mapping[str, dict] | None = None, folds: int = 5, inner_folds: int = 5, seed: int = 0,
    vote_k: int = 3, rank_by: Literal["cv", "external"] = "cv", progress: bool = True,
    n_jobs: int = 1,
) -> Comparison:
    """Compare ``models`` (registry names or ModelSpecs) on each feature set (name -> columns
    of ``train.features``).

    ``selection``: one Pipeline for every feature set, a mapping feature set -> Pipeline (or
    None), or None (features as they are); cloned and refitted in every training fold.
    ``grids``: model name -> grid replacing its default. ``folds``: outer CV folds,
    ``inner_folds``: folds of the grid search; both patient-grouped, seeded by ``seed``.
    ``rank_by``: which AUC the vote ranks ("external" is the paper's choice; see vote).
    ``n_jobs``: (feature set, model) pairs fitted in parallel processes; every pair's folds and
    seeds are fixed beforehand, so the tables do not depend on it.
    """
    y, y_ext = _check_cohorts(train, external, feature_sets)
    if rank_by == "external" and external is None:
        raise ValueError("rank_by='external' needs an external cohort")
    specs = _specs(models, grids)
    groups = None if train.groups is None else np.asarray(train.groups)
    splits = list(PatientKFold(folds, stratify=True, random_state=seed).split(None, y, groups))
    tasks = [delayed(_pair)(fs, selection.get(fs) if isinstance(selection, Mapping) else selection,
                            spec, None if grids is None else grids.get(spec.name),
                            _matrix(train, columns, fs), y, groups, splits,
                            None if external is None else _matrix(external, columns, fs), y_ext,
                            inner_folds, seed)
             for fs, columns in feature_sets.items() for spec in specs]
    preds, params = [], {}
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("comparing classifiers", total=len(tasks))
        for (fs, name), rows, best in Parallel(n_jobs=n_jobs, return_as="generator")(tasks):
            preds.extend(rows)
            if best is not None:
                params[fs, name] = json.dumps(best, sort_keys=True, default=str)
            bar.advance(task)
    predictions = pl.concat(preds)
    summary = _summary(predictions, params)
    vote = top_k_vote(summary.filter(pl.col("cohort") == rank_by), k=vote_k)
    winner = vote["model"][0]
    return Comparison(summary, predictions, vote, _delong(predictions, winner, list(feature_sets)),
                      winner, rank_by)
