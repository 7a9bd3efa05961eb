"""The hold-out's test-split tables that the multi-class report draws (reports/grading.qmd).

Why the stage writes them rather than the report computing them: the report is a knitr
document that only reads prepared CSVs, and every number it shows must be one the stage
computed (a test compares them). Per model and probability set (uncalibrated, calibrated):

* ``test_predictions``: every test disc's keys, grade, scanner and ``prob_1`` ... ``prob_5``;
* ``confusion``: the R package's confusion matrix (``multiclass_confusion``) with the share
  of each true grade and its patient-bootstrap interval;
* ``roc``: the one-vs-rest ROC points of every grade present (scikit-learn's ``roc_curve``
  with every threshold kept, so the trapezoid area under them is the R package's AUROC, which
  a test checks);
* ``reliability``: per grade, the test discs in ``RELIABILITY_BINS`` equal-width bins of the
  predicted probability, with the mean prediction and the observed share of that grade.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import roc_curve

from spinedlr.grading.features import DISC_KEYS, SCANNER
from spinedlr.grading.metrics import GRADES
from spinedlr.stats.multiclass import multiclass_confusion

RELIABILITY_BINS = 5
PROB_COLUMNS = [f"prob_{g}" for g in GRADES]


def _tag(frame: pl.DataFrame, model: str, probabilities: str) -> pl.DataFrame:
    return frame.select(pl.lit(model).alias("model"), pl.lit(probabilities).alias("probabilities"),
                        pl.all())


def predictions(test: pl.DataFrame, P: np.ndarray) -> pl.DataFrame:
    """The test discs' keys, grade and scanner beside their five probabilities."""
    probs = pl.DataFrame(P, schema=PROB_COLUMNS)
    return test.select(*DISC_KEYS, SCANNER, "pfirrmann").hstack(probs)


def confusion(test: pl.DataFrame, P: np.ndarray, B: int, seed: int) -> pl.DataFrame:
    """The R package's confusion matrix (grades present in the test split) with intervals."""
    frame = predictions(test, P).with_columns(pl.col("patient_id").cast(pl.String))
    grades = sorted(set(test["pfirrmann"].to_list()))
    names = [f"prob_{g}" for g in grades]
    out = multiclass_confusion(frame, "pfirrmann", names, classes=grades, groups="patient_id",
                               B=B, seed=seed)
    return out.with_columns(pl.col("truth").cast(pl.Int64), pl.col("predicted").cast(pl.Int64))


def roc_points(y: np.ndarray, P: np.ndarray) -> pl.DataFrame:
    """One-vs-rest ROC points (grade, fpr, tpr) of every grade with cases and non-cases."""
    parts = []
    for i, g in enumerate(GRADES):
        hit = (np.asarray(y) == g).astype(int)
        if 0 < hit.sum() < len(hit):
            fpr, tpr, _ = roc_curve(hit, P[:, i], drop_intermediate=False)
            parts.append(pl.DataFrame({"grade": g, "fpr": fpr, "tpr": tpr}))
    return pl.concat(parts)


def reliability(y: np.ndarray, P: np.ndarray, bins: int = RELIABILITY_BINS) -> pl.DataFrame:
    """Per grade and non-empty probability bin: discs, mean predicted, observed share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for i, g in enumerate(GRADES):
        p = np.clip(P[:, i], 0.0, 1.0)
        which = np.minimum(np.digitize(p, edges[1:-1]), bins - 1)
        for b in np.unique(which):
            sel = which == b
            rows.append({"grade": g, "bin": int(b), "n": int(sel.sum()),
                         "mean_predicted": float(p[sel].mean()),
                         "observed": float((np.asarray(y)[sel] == g).mean())})
    return pl.DataFrame(rows)


def test_tables(model: str, test: pl.DataFrame, probabilities: dict[str, np.ndarray], B: int,
                seed: int) -> dict[str, pl.DataFrame]:
    """The four tables of one model, both probability sets, each tagged with model and set."""
    y = test["pfirrmann"].to_numpy()
    out: dict[str, list[pl.DataFrame]] = {k: [] for k in
                                          ("test_predictions", "confusion", "roc", "reliability")}
    for label, P in probabilities.items():
        out["test_predictions"].append(_tag(predictions(test, P), model, label))
        out["confusion"].append(_tag(confusion(test, P, B, seed), model, label))
        out["roc"].append(_tag(roc_points(y, P), model, label))
        out["reliability"].append(_tag(reliability(y, P), model, label))
    return {k: pl.concat(v, how="diagonal_relaxed") for k, v in out.items()}
