"""Honest validation of the whole selection chain: full-pipeline CV and bootstrap.

``cv_auc(mode="full")`` refits every step (selection included) on each training fold;
``mode="final_only"`` selects once on all patients and cross-validates only the final
logistic model — what many radiomics papers do, and optimistic because the held-out
patients helped choose the features. On pure noise the first is ~0.5 and the second is
clearly above: the leakage gap.

``bootstrap_auc`` is Harrell's optimism-corrected bootstrap of the whole pipeline.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from spinedlr.select.filters import binary_outcome
from spinedlr.select.folds import check_events, stratified_folds
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
