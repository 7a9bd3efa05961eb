"""Benchmark: which calibration the SPIDER grading study should use (issue 15). Writes
bench/results/spider_calibration.json.

Why: the issue's design calibrates isotonic on the validation patients, ~12 of 63; on the
study's split that dropped the primary model's hold-out macro AUROC from 0.87 to 0.74, the
map collapsing the ranking into a few steps. The frozen model scores unseen patients through
`spinedlr apply`, so the choice is made here by patient-grouped repeated CV, not on one split.

In every outer fold (patient-grouped, grade-stratified ``--folds``-fold CV, one reshuffle per
seed of ``--seeds``), on the outer training patients only:

* ``none`` / ``sigmoid`` / ``temperature`` / ``isotonic``: the model (the stage's grid search) fitted on 75 % of
  them, the map fitted on the other 25 % (by patient, stratified by grade) — the issue's
  train/validation design at the outer fold's size;
* ``none_all`` / ``sigmoid_cv`` / ``temperature_cv`` / ``isotonic_cv``: the model fitted on all of them, the map on
  their patient-grouped out-of-fold predictions (``grading.holdout.out_of_fold_proba``, each
  inner fold refitting search and pipeline) — ``design.calibration: *_cv``.

Scored on the outer test patients: macro one-vs-rest AUROC, binary (1-3 vs 4-5) AUROC and
the multi-class Brier score (the R package, ``grading.metrics``), classwise expected
calibration error (per grade over the report's reliability bins, ``report_tables.reliability``,
averaged over grades) and top-label ECE (10 equal-width bins of the largest probability).
Mean and sd over outer folds per method, and paired per-fold differences against
``isotonic`` (the issue's design) and ``temperature`` (the study's default, chosen here).
BLAS threads are 1. Run from the repository root:
``nice -n 5 python -m bench.spider_calibration`` (about 9 minutes on 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import torch  # noqa: E402

from spinedlr.design.calibration import calibrate, calibrate_out_of_fold  # noqa: E402
from spinedlr.design.models import predict_proba  # noqa: E402
from spinedlr.design.splits import PatientKFold  # noqa: E402
from spinedlr.grading import metrics  # noqa: E402
from spinedlr.grading.features import DATA_DIR, feature_table  # noqa: E402
from spinedlr.grading.fit import MODELS, N_CLASSES, design_matrix, fit  # noqa: E402
from spinedlr.grading.holdout import CALIBRATION_FOLDS, out_of_fold_proba  # noqa: E402
from spinedlr.grading.report_tables import reliability  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "spider_calibration.json"
CACHE = HERE / "cache"
SEEDS = (0, 1, 2)
SPLIT = ("none", "sigmoid", "temperature", "isotonic")
CV = ("none_all", "sigmoid_cv", "temperature_cv", "isotonic_cv")
METRICS = ("macro_auroc", "binary_auroc", "brier", "ece_classwise", "ece_top_label")
LOWER_IS_BETTER = {"brier", "ece_classwise", "ece_top_label"}
REFERENCES = ("isotonic", "temperature")
"""Paired differences against the issue's design and against the study's chosen default."""


def top_label_ece(y: np.ndarray, P: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the most probable grade: over equal-width bins of its
    probability, the disc-weighted |accuracy - mean confidence|."""
    conf, hit = P.max(axis=1), (P.argmax(axis=1) == y)
    which = np.minimum(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), bins - 1)
    return float(sum((which == b).mean() * abs(hit[which == b].mean() - conf[which == b].mean())
                     for b in np.unique(which)))


def classwise_ece(grades: np.ndarray, P: np.ndarray) -> float:
    """Mean over grades of the disc-weighted |observed share - mean prediction| over the
    report's reliability bins (the numbers the reliability diagram draws)."""
    rel = reliability(grades, P).with_columns(
        (pl.col("n") * (pl.col("observed") - pl.col("mean_predicted")).abs()).alias("gap"))
    per_grade = rel.group_by("grade").agg(pl.col("gap").sum() / pl.col("n").sum())
    return float(per_grade["gap"].mean())


def scores(grades: np.ndarray, P: np.ndarray) -> dict[str, float]:
    """The five metrics of test grades 1-5 and probabilities (rows x 5)."""
    m = metrics.multiclass(grades, P)
    est = dict(zip(m["metric"], m["estimate"]))
    b = metrics.binary(grades, P).filter(pl.col("metric") == "auroc")["estimate"][0]
    return {"macro_auroc": float(est["macro_auroc"]), "binary_auroc": float(b),
            "brier": float(est["brier"]), "ece_classwise": classwise_ece(grades, P),
            "ece_top_label": top_label_ece(grades - 1, P)}


def outer_fold(model, train: pl.DataFrame, test: pl.DataFrame, seed: int, inner: int) -> dict:
    """Every method's test scores for one outer fold, fitted on ``train`` only."""
    fit_rows, cal_rows = next(PatientKFold(4, random_state=seed).split(
        None, train["pfirrmann"].to_numpy(), train["patient_id"].to_numpy()))
    Xt, yt, _ = design_matrix(model, test)
    Xc, yc, _ = design_matrix(model, train[cal_rows])
    est: dict[str, object] = {}
    part = fit(model, train[fit_rows], seed, inner).best_estimator_
    for method in SPLIT:
        try:
            est[method] = calibrate(part, Xc, yc, method)
        except ValueError:  # a grade absent from the calibration patients: no map
            est[method] = None
    whole = fit(model, train, seed, inner).best_estimator_
    P_oof = out_of_fold_proba(model, train, seed, inner)
    _, y_train, _ = design_matrix(model, train)
    est["none_all"] = whole
    for method in CV[1:]:
        est[method] = calibrate_out_of_fold(whole, P_oof, y_train, method)
    return {"n_calibration_patients": int(train[cal_rows]["patient_id"].n_unique()),
            "n_test_patients": int(test["patient_id"].n_unique())} | {
        m: None if e is None else scores(yt + 1, predict_proba(e, Xt, N_CLASSES)) for m, e in est.items()}


def summarise(folds: list[dict]) -> dict:
    """Mean, sd and folds scored per method and metric."""
    summary = {}
    for m in SPLIT + CV:
        rows = [f[m] for f in folds if f[m] is not None]
        summary[m] = {"folds_scored": len(rows)} | {
            f"{k}_{s}": float(getattr(np, s)([r[k] for r in rows], **({"ddof": 1} if s == "std" else {})))
            for k in METRICS for s in ("mean", "std")}
    return summary


def paired(folds: list[dict], reference: str) -> dict:
    """Per method, per-fold differences method - ``reference`` on the folds where both were
    scored: mean, sd, and the folds where the method is better (lower Brier/ECE)."""
    out = {}
    for m in SPLIT + CV:
        both = [f for f in folds if f[m] is not None and f[reference] is not None]
        if m == reference or not both:
            continue
        out[m] = {}
        for k in METRICS:
            d = np.array([f[m][k] - f[reference][k] for f in both])
            better = (d < 0) if k in LOWER_IS_BETTER else (d > 0)
            out[m][k] = {"mean_diff": float(d.mean()), "sd_diff": float(d.std(ddof=1)),
                         "folds_better": int(better.sum()), "folds": len(d)}
    return out


def main(model_name: str, seeds: list[int], folds: int, inner: int) -> dict:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="The least populated class")
    res: dict = {"machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                 "loadavg_at_start": os.getloadavg(), "model": model_name, "seeds": seeds,
                 "outer_folds": folds, "search_folds": inner, "calibration_split": 0.25,
                 "out_of_fold_folds": CALIBRATION_FOLDS, "timing_s": {}}
    t0 = time.perf_counter()
    table, _ = feature_table(DATA_DIR, CACHE, seeds[0])
    res["timing_s"]["features"] = time.perf_counter() - t0
    model, rows = MODELS[model_name], []
    X, y, g = design_matrix(model, table)
    for seed in seeds:
        for k, (train, test) in enumerate(PatientKFold(folds, random_state=seed).split(X, y, g)):
            t = time.perf_counter()
            rows.append({"seed": seed, "fold": k} | outer_fold(model, table[train], table[test], seed, inner))
            print(f"seed {seed} fold {k}: " + ", ".join(
                f"{m} {r['macro_auroc']:.3f}/{r['brier']:.3f}" for m, r in rows[-1].items()
                if isinstance(r, dict)) + f" ({time.perf_counter() - t:.0f} s)", flush=True)
    res["methods"] = summarise(rows)
    res["paired"] = {f"vs_{ref}": paired(rows, ref) for ref in REFERENCES}
    res["folds"] = rows
    res["timing_s"]["total"] = time.perf_counter() - t0
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lr", choices=list(MODELS))
    ap.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--inner", type=int, default=3, help="grid-search folds (design.search_folds)")
    a = ap.parse_args()
    result = main(a.model, a.seeds, a.folds, a.inner)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for m, s in result["methods"].items():
        print(f"{m:12s} " + "  ".join(f"{k} {s[k + '_mean']:.3f}±{s[k + '_std']:.3f}" for k in METRICS))
    print(f"wrote {OUT} in {result['timing_s']['total']:.0f} s")
