"""Grading metrics through the R package (one source of truth): the multi-class set and the
binary low (Pfirrmann 1-3) vs high (4-5) task, with patient-level bootstrap intervals.

Why the binary task also goes through ``multiclass_metrics``: with two classes and the
probabilities (P(1-3), P(4-5)) its AUROC rows are the binary AUROC, and its confusion
matrix's per-class recall is sensitivity (high) and specificity (low) at the stated
threshold: P(4-5) >= 0.5, the most probable of the two groups.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr.stats.multiclass import multiclass_confusion, multiclass_metrics

GRADES = (1, 2, 3, 4, 5)
HIGH_FROM = 4  # grades 4-5 are "high" in the binary task
BINARY_THRESHOLD = 0.5


def _frame(y: np.ndarray, P: np.ndarray, groups: np.ndarray | None, names: list[str]) -> pl.DataFrame:
    cols = {"y": np.asarray(y).astype(int)} | {n: P[:, i] for i, n in enumerate(names)}
    if groups is not None:
        cols["patient"] = np.asarray(groups).astype(str)
    return pl.DataFrame(cols)


def _classes_present(y: np.ndarray, P: np.ndarray, grades) -> tuple[np.ndarray, list[int]]:
    """Probability columns and labels of the grades that occur in ``y`` (a scanner's test
    set may lack a grade; its one-vs-rest AUROC is then undefined and left out)."""
    keep = [i for i, g in enumerate(grades) if g in set(np.asarray(y).tolist())]
    return P[:, keep], [grades[i] for i in keep]


def multiclass(y: np.ndarray, P: np.ndarray, groups: np.ndarray | None = None, B: int = 0,
               seed: int = 0) -> pl.DataFrame:
    """The R package's multi-class metrics of grades ``y`` (1-5) and probabilities ``P``
    (rows x 5, grade order), over the grades present, bootstrapping patients ``groups``."""
    P, grades = _classes_present(y, P, list(GRADES))
    names = [f"prob_{g}" for g in grades]
    return multiclass_metrics(_frame(y, P, groups, names), "y", names, classes=grades,
                              groups=None if groups is None else "patient", B=B, seed=seed)


def binary_probs(P: np.ndarray) -> np.ndarray:
    """(P(1-3), P(4-5)) from the five grade probabilities (clipped to [0, 1]: renormalised
    calibrated rows may sum to one plus rounding)."""
    high = np.clip(P[:, HIGH_FROM - 1:].sum(axis=1), 0.0, 1.0)
    return np.column_stack([1 - high, high])


def binary(y: np.ndarray, P: np.ndarray, groups: np.ndarray | None = None, B: int = 0,
           seed: int = 0) -> pl.DataFrame:
    """Binary 1-3 vs 4-5: AUROC (and the rest of the R set) plus sensitivity/specificity at
    P(4-5) >= 0.5, each with its patient-bootstrap interval (metric, estimate, lower, upper)."""
    yb = (np.asarray(y) >= HIGH_FROM).astype(int)
    frame = _frame(yb, binary_probs(P), groups, ["p_low", "p_high"])
    kw = {"classes": [0, 1], "groups": None if groups is None else "patient", "B": B, "seed": seed}
    m = multiclass_metrics(frame, "y", ["p_low", "p_high"], **kw)
    auc = m.filter((pl.col("metric") == "auroc") & (pl.col("class") == "1"))
    cm = multiclass_confusion(frame, "y", ["p_low", "p_high"], **kw)
    diag = cm.filter(pl.col("truth") == pl.col("predicted"))
    rows = [("auroc",) + tuple(auc.row(0, named=True)[k] for k in ("estimate", "lower", "upper"))]
    for label, truth in (("sensitivity", "1"), ("specificity", "0")):
        r = diag.filter(pl.col("truth").cast(pl.Utf8) == truth).row(0, named=True)
        rows.append((label, r["proportion"], r["lower"], r["upper"]))
    return pl.DataFrame(rows, schema=["metric", "estimate", "lower", "upper"], orient="row")


def headline(y: np.ndarray, P: np.ndarray) -> dict[str, float]:
    """Macro one-vs-rest AUROC and binary AUROC without intervals (one CV fold)."""
    m = multiclass(y, P)
    macro = m.filter(pl.col("metric") == "macro_auroc")["estimate"][0]
    b = binary(y, P).filter(pl.col("metric") == "auroc")["estimate"][0]
    return {"macro_auroc": float(macro), "binary_auroc": float(b)}
