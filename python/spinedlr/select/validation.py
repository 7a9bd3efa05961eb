"""Honest validation of the whole selection chain: full-pipeline CV and bootstrap.

``cv_auc(mode="full")`` refits every step (selection included) on each training fold;
``mode="final_only"`` selects once on all patients and cross-validates only the final
logistic model — what many radiomics papers do, and optimistic because the held-out
patients helped choose the features. On pure noise the first is ~0.5 and the second is
clearly above: the leakage gap.

``bootstrap_auc`` is Harrell's optimism-corrected bootstrap of the whole pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import polars as pl
from joblib import Parallel, delayed
from scipy.special import expit
from scipy.stats import norm, rankdata
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from spinedlr.select.filters import binary_outcome
from spinedlr.select.folds import check_events, stratified_folds
from spinedlr.select.pipeline import roi_pipeline
from spinedlr.select.radscore import RadscoreLogit


def cv_auc(pipe: Pipeline, X: np.ndarray, y: np.ndarray, folds: int = 10, seed: int = 0,
           mode: Literal["full", "final_only"] = "full") -> dict:
    """Mean and per-fold AUC of ``folds``-fold CV, refitting the whole chain or only the model."""
    y = binary_outcome(y)
    splits = stratified_folds(y, folds, seed)
    if mode == "final_only":
        fitted = clone(pipe).fit(X, y)
        X = fitted[:-1].transform(X)
        pipe = RadscoreLogit()
    elif mode != "full":
        raise ValueError(f"mode must be 'full' or 'final_only', not {mode!r}")
    aucs = []
    for tr, te in splits:
        m = clone(pipe).fit(X[tr], y[tr])
        aucs.append(roc_auc_score(y[te], m.decision_function(X[te])))
    return {"auc": float(np.mean(aucs)), "fold_auc": aucs, "mode": mode, "folds": folds}


def bootstrap_auc(pipe: Pipeline, X: np.ndarray, y: np.ndarray, B: int = 200, seed: int = 0,
                  progress: Callable[[int], None] | None = None, min_events: int = 10) -> dict:
    """Optimism-corrected AUC: apparent − mean(AUC_boot on boot − AUC_boot on original).

    Each resample refits the full pipeline. Resamples with fewer than ``min_events``
    patients in an outcome class (the chain's largest inner CV) are redrawn (counted in ``redrawn``), never silently skipped.
    """
    y = binary_outcome(y)
    apparent = roc_auc_score(y, clone(pipe).fit(X, y).decision_function(X))
    rng = np.random.default_rng(seed)
    n, optimism, redrawn = len(y), [], 0
    while len(optimism) < B:
        idx = rng.integers(0, n, n)
        try:
            check_events(y[idx], min_events, "bootstrap resample")
        except ValueError:
            redrawn += 1
            continue
        m = clone(pipe).fit(X[idx], y[idx])
        optimism.append(roc_auc_score(y[idx], m.decision_function(X[idx]))
                        - roc_auc_score(y, m.decision_function(X)))
        if progress:
            progress(len(optimism))
    opt = float(np.mean(optimism))
    return {"apparent": float(apparent), "optimism": opt, "corrected": float(apparent - opt),
            "B": B, "redrawn": redrawn, "optimism_per_resample": optimism}


# ---------------------------------------------------------------------------------------------
# The report's headline: repeated k-fold CV of the whole chain, for every model the report shows
# ---------------------------------------------------------------------------------------------

METHOD = "full pipeline, repeated stratified k-fold CV"
METHOD_LEAKY = "selection once on all patients, repeated stratified k-fold CV"


@dataclass(frozen=True)
class RoiInput:
    """One ROI's chain input: feature matrix (rows = patients), family columns and ICCs.

    The ICC values come from both raters' features without the outcome, so they are computed
    once on all patients and enter every resample as a fixed mask (no leakage).
    """

    X: np.ndarray
    families: dict[str, list[int]]
    icc: dict[str, np.ndarray | None]


def delong_var(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong variance (Sun & Xu's midrank algorithm; equals pROC's ``var``)."""
    pos, neg = x[y == 1], x[y == 0]
    m, n = len(pos), len(neg)
    tx, ty, tz = rankdata(pos), rankdata(neg), rankdata(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1 - (tz[m:] - ty) / m
    return float(auc), float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)


def rubin_interval(aucs: np.ndarray, variances: np.ndarray, conf_level: float = 0.95
                   ) -> tuple[float, float, float]:
    """Mean AUC over repeats and a normal interval from Rubin's rules.

    Each repeat's pooled out-of-fold AUC has a DeLong (patient-sampling) variance; repeats
    differ only in how the patients were split, which adds the between-repeat variance:
    total = mean(DeLong var) + (1 + 1/R) · var(AUC over repeats). The interval is clipped to
    [0, 1], as pROC clips DeLong intervals.
    """
    r = len(aucs)
    est = float(np.mean(aucs))
    between = float(np.var(aucs, ddof=1)) if r > 1 else 0.0
    total = float(np.mean(variances)) + (1 + 1 / r) * between
    half = norm.ppf(0.5 + conf_level / 2) * np.sqrt(total)
    return est, max(0.0, est - half), min(1.0, est + half)


def logit_fit(X: np.ndarray, y: np.ndarray, firth: bool = False, maxit: int = 50,
              tol: float = 1e-8) -> np.ndarray:
    """Logistic coefficients (X includes the intercept column) by Newton–Raphson.

    Columns without spread in these rows get coefficient 0 (a level absent from a training
    fold, as the R package does). ``firth=True`` maximises Firth's penalised likelihood, which
    stays finite under (quasi-)separation, e.g. a covariate level without events.
    """
    use = np.ptp(X, axis=0) > 0
    use[0] = True
    Xu = X[:, use]
    beta = np.zeros(Xu.shape[1])

    def objective(b):
        eta = Xu @ b
        ll = float(np.sum(y * eta - np.logaddexp(0, eta)))
        if firth:
            p = expit(eta)
            ll += 0.5 * np.linalg.slogdet((Xu * (p * (1 - p))[:, None]).T @ Xu)[1]
        return ll

    current = objective(beta)
    for _ in range(maxit):
        p = expit(Xu @ beta)
        w = p * (1 - p)
        info = (Xu * w[:, None]).T @ Xu
        resid = y - p
        if firth:
            h = np.einsum("ij,jk,ik->i", Xu * np.sqrt(w)[:, None], np.linalg.pinv(info),
                          Xu * np.sqrt(w)[:, None])
            resid = resid + h * (0.5 - p)
        grad = Xu.T @ resid
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-6:
            trial = objective(beta + t * step)
            if trial >= current - 1e-12:
                break
            t /= 2
        beta, current = beta + t * step, trial
        if np.max(np.abs(t * step)) < tol:
            break
    out = np.zeros(X.shape[1])
    out[use] = beta
    return out


def zero_event_level(Z: np.ndarray, y: np.ndarray, groups: list[list[int]]) -> bool:
    """True when a level of a dummy-coded covariate (its reference level included: rows with
    none of its dummies) has no events or only events in these rows."""
    for cols in groups:
        on = Z[:, cols] > 0
        levels = np.column_stack([~on.any(axis=1), on])
        n = levels.sum(axis=0)
        ev = (levels & (y[:, None] == 1)).sum(axis=0)
        if np.any((n > 0) & ((ev == 0) | (ev == n))):
            return True
    return False


def _adjusted_lp(score_tr, score_te, Z, groups, y_tr, tr, te) -> tuple[np.ndarray, bool]:
    A_tr = np.column_stack([np.ones(len(tr)), score_tr, Z[tr]])
    A_te = np.column_stack([np.ones(len(te)), score_te, Z[te]])
    firth = zero_event_level(Z[tr], y_tr, groups)
    return A_te @ logit_fit(A_tr, y_tr, firth=firth), firth


def _one_resample(settings, seed: int, rois: dict[str, RoiInput], y: np.ndarray,
                  adjust: dict[str, tuple[np.ndarray, list[list[int]]]],
                  comparator: tuple[str, np.ndarray] | None, tr: np.ndarray, te: np.ndarray
                  ) -> tuple[dict, dict]:
    """Refit every ROI chain, the combined Radscore and the adjusted models on ``tr``; return
    the linear predictors of ``te`` per (score, model) and which adjusted fits used Firth."""
    ytr = y[tr]
    s_tr, s_te = {}, {}
    for roi, d in rois.items():
        pipe = roi_pipeline(settings, seed, d.families, d.icc).fit(d.X[tr], ytr)
        s_tr[f"radscore_{roi}"] = pipe.decision_function(d.X[tr])
        s_te[f"radscore_{roi}"] = pipe.decision_function(d.X[te])
    if len(rois) > 1:
        cols = list(s_tr)
        comb = RadscoreLogit().fit(np.column_stack([s_tr[c] for c in cols]), ytr)
        s_tr["radscore_combined"] = comb.decision_function(np.column_stack([s_tr[c] for c in cols]))
        s_te["radscore_combined"] = comb.decision_function(np.column_stack([s_te[c] for c in cols]))
    if comparator is not None:
        s_tr[comparator[0]], s_te[comparator[0]] = comparator[1][tr], comparator[1][te]
    out, firth = {}, {}
    for name in s_tr:
        out[(name, "unadjusted")] = s_te[name]
        if name in adjust:
            Z, groups = adjust[name]
            out[(name, "adjusted")], firth[name] = _adjusted_lp(s_tr[name], s_te[name], Z,
                                                                groups, ytr, tr, te)
    return out, firth


def full_pipeline_cv(settings, seed: int, rois: dict[str, RoiInput], y: np.ndarray,
                     adjust: dict[str, tuple[np.ndarray, list[list[int]]]] | None = None,
                     comparator: tuple[str, np.ndarray] | None = None, repeats: int = 5,
                     folds: int = 5, workers: int = 1, conf_level: float = 0.95,
                     leaky: dict[str, np.ndarray] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Repeated stratified k-fold CV of the whole chain for every model the report shows.

    In every training fold the selection chain and Radscore of each ROI, the combined
    Radscore (refitted on the refitted ROI Radscores) and the adjusted models (refitted
    Radscore + covariates) are fitted again, and the held-out fold is scored with them. Per
    repeat, the out-of-fold linear predictors are pooled into one AUC with its DeLong
    variance; the estimate is the mean over repeats, the interval Rubin's rules
    (``rubin_interval``). An adjusted fit whose training fold has a covariate level without
    events (or with only events) uses Firth's penalised likelihood (``firth_fits`` counts them).

    Why repeated k-fold rather than the optimism bootstrap: every resample costs a whole
    chain fit; R × k fits give an estimate that does not hinge on one split, with an interval
    that carries patient sampling (DeLong) and split variation, while a stable bootstrap
    optimism needs ~200 fits.

    ``adjust`` maps a score (``radscore_<roi>``, ``radscore_combined`` or the comparator's
    name) to (covariate design without intercept, column indices of each dummy-coded
    covariate); ``comparator``
    is (name, values), a score nothing selects. ``leaky`` maps ``radscore_<roi>`` to the
    features selected once on all patients: those rows cross-validate only the Radscore's
    logistic fit on the same folds (the leakage gap). Repeat r splits with seed
    ``seed + 1 + r``; the chain's inner seed is ``seed`` in every resample, so the result
    does not depend on ``workers``.
    """
    y = binary_outcome(y)
    adjust = adjust or {}
    check_events(y, folds, "full-pipeline cross-validation")
    splits = [(r, tr, te) for r in range(repeats)
              for tr, te in stratified_folds(y, folds, seed + 1 + r)]
    tasks = (delayed(_one_resample)(settings, seed, rois, y, adjust, comparator, tr, te)
             for _, tr, te in splits)
    results = []
    for res in Parallel(n_jobs=workers, return_as="generator")(tasks):
        results.append(res)
        if progress:
            progress(len(results), len(splits))
    lp: dict[tuple[str, str], np.ndarray] = {}
    firth_fits: dict[str, int] = {}
    for (r, _, te), (out, firth) in zip(splits, results):
        for name, used in firth.items():
            firth_fits[name] = firth_fits.get(name, 0) + int(used)
        for key, val in out.items():
            lp.setdefault(key, np.full((repeats, len(y)), np.nan))[r, te] = val
    for roi, Xsel in (leaky or {}).items():
        arr = np.full((repeats, len(y)), np.nan)
        for r, tr, te in splits:
            arr[r, te] = RadscoreLogit().fit(Xsel[tr], y[tr]).decision_function(Xsel[te])
        lp[(roi, "selection once")] = arr
    rows = []
    for (name, model), arr in lp.items():
        per_repeat = np.array([delong_var(y, arr[r]) for r in range(repeats)])
        est, lo, hi = rubin_interval(per_repeat[:, 0], per_repeat[:, 1], conf_level)
        once = model == "selection once"
        rows.append({
            "score": name, "model": "unadjusted" if once else model,
            "method": METHOD_LEAKY if once else METHOD,
            "auc": est, "auc_lower": lo, "auc_upper": hi,
            "auc_sd_repeats": float(np.std(per_repeat[:, 0], ddof=1)) if repeats > 1 else 0.0,
            "repeats": repeats, "folds": folds, "resamples": len(splits),
            "ci": "DeLong per repeat, Rubin's rules over repeats",
            "firth_fits": firth_fits.get(name, 0) if model == "adjusted" else 0,
        })
    return pl.DataFrame(rows)
