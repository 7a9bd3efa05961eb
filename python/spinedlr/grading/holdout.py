"""Patient-level hold-out (60/20/20, calibration on validation or out of fold, bootstrap CIs
on test), patient-grouped CV per fold, and leave-one-scanner-out.

Why three views: the hold-out is the reference study's design (one model, calibrated, with
intervals), but one 20 % test split of 63 patients is noisy, so patient-grouped CV gives the
spread over folds, and leave-one-scanner-out asks whether the model transfers to a scanner
it never saw. No view tunes on its own test rows: every grid search, imputation, PCA and
LASSO runs inside the training rows (grading.fit), calibration on the validation rows
(``isotonic``, ``sigmoid``: the model fitted on train) or on patient-grouped out-of-fold
predictions of train and validation together (``isotonic_cv``, ``sigmoid_cv``: the model
refitted on both, the test patients untouched; bench/spider_calibration.py compares them).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr.design.calibration import CV_METHODS, calibrate, calibrate_out_of_fold
from spinedlr.design.models import predict_proba
from spinedlr.design.splits import FixedSplit, LeaveOneGroupOutByPatient, PatientKFold
from spinedlr.grading import metrics
from spinedlr.grading.features import SCANNER
from spinedlr.grading.fit import GradingModel, N_CLASSES, cross_val_proba, design_matrix, fit

CALIBRATION = "isotonic"
"""The issue's design (isotonic on the validation patients): the default of the functions
here; the grading stage passes the study's ``design.calibration``."""
CALIBRATION_FOLDS = 5
"""Patient-grouped folds of the out-of-fold predictions an ``*_cv`` map is fitted on."""


FRACTIONS = (0.6, 0.2, 0.2)
"""Train / validation / test fractions of the patients (issue 15's 60/20/20)."""


def holdout_roles(table: pl.DataFrame, seed: int,
                  fractions: tuple[float, float, float] = FRACTIONS) -> dict[str, np.ndarray]:
    """Row indices of train/validation/test: ``fractions`` of the patients, stratified by
    each patient's most frequent grade; no patient in two roles."""
    return FixedSplit(*fractions, random_state=seed).roles(
        y=table["pfirrmann"].to_numpy(), groups=table["patient_id"].to_numpy())


def out_of_fold_proba(model: GradingModel, table: pl.DataFrame, seed: int = 0,
                      inner_folds: int = 3) -> np.ndarray:
    """Out-of-fold probabilities of every row of ``table`` (pass training rows only) over
    ``CALIBRATION_FOLDS`` patient-grouped, grade-stratified folds, each refitting the model's
    search and pipeline: what an ``*_cv`` calibration map is fitted on."""
    return cross_val_proba(model, table, PatientKFold(CALIBRATION_FOLDS, random_state=seed),
                           seed, inner_folds)[0]


def fit_calibrated(model: GradingModel, table: pl.DataFrame, train: np.ndarray,
                   validation: np.ndarray, method: str = CALIBRATION, seed: int = 0,
                   inner_folds: int = 3):
    """(grid-searched fitted model, the same with its calibration ``method``). Split methods
    fit on ``train`` and map on ``validation``; ``*_cv`` methods fit on both and map on their
    out-of-fold predictions; ``none`` fits on ``train`` and returns the model twice."""
    if method in CV_METHODS:
        rows = table[np.sort(np.concatenate([train, validation]))]
        fitted = fit(model, rows, seed, inner_folds)
        P = out_of_fold_proba(model, rows, seed, inner_folds)
        return fitted, calibrate_out_of_fold(fitted.best_estimator_, P, design_matrix(model, rows)[1], method)
    fitted = fit(model, table[train], seed, inner_folds)
    Xv, yv, _ = design_matrix(model, table[validation])
    return fitted, calibrate(fitted.best_estimator_, Xv, yv, method)


def _fit_calibrated(model: GradingModel, table: pl.DataFrame, seed: int,
                    fractions: tuple[float, float, float] = FRACTIONS, inner_folds: int = 3,
                    method: str = CALIBRATION):
    """(roles, grid-searched fitted model, its calibration ``method``) of the hold-out split."""
    roles = holdout_roles(table, seed, fractions)
    fitted, calibrated = fit_calibrated(model, table, roles["train"], roles["validation"], method,
                                        seed, inner_folds)
    return roles, fitted, calibrated


def describe_calibration(method: str) -> tuple[str, str]:
    """(short label, sentence) of a calibration method, for the console and the report."""
    if method == "none":
        return "none", "no calibration (the classifiers' own probabilities)"
    if method in CV_METHODS:
        return (f"{CV_METHODS[method]} (out of fold)",
                f"{CV_METHODS[method]} calibration fitted on {CALIBRATION_FOLDS}-fold "
                "patient-grouped out-of-fold predictions of the training and validation patients "
                "together, the model refitted on all of them (the test patients untouched)")
    return method, (f"{method} calibration fitted on the validation patients, the model on the "
                    "training patients")


def holdout_run(model: GradingModel, table: pl.DataFrame, seed: int = 0, B: int = 500,
                fractions: tuple[float, float, float] = FRACTIONS, inner_folds: int = 3,
                calibration: str = CALIBRATION) -> tuple[dict, dict]:
    """(the metrics of :func:`holdout`; what the report and `apply` need beyond them: the
    roles' row indices, the two estimators and their test-split probabilities)."""
    roles, fitted, calibrated = _fit_calibrated(model, table, seed, fractions, inner_folds, calibration)
    Xt, yt, gt = design_matrix(model, table[roles["test"]])
    out: dict = {"n_patients": {r: int(table[idx]["patient_id"].n_unique()) for r, idx in roles.items()},
                 "n_discs": {r: int(len(idx)) for r, idx in roles.items()},
                 "best_params": fitted.best_params_, "B": B, "calibration": calibration,
                 "fitted_on": ["train", "validation"] if calibration in CV_METHODS else ["train"]}
    parts: dict = {"roles": roles, "estimators": {}, "probabilities": {}}
    for label, est in (("uncalibrated", fitted.best_estimator_), ("calibrated", calibrated)):
        P = predict_proba(est, Xt, N_CLASSES)
        out[label] = {"multiclass": metrics.multiclass(yt + 1, P, gt, B, seed).to_dicts(),
                      "binary": metrics.binary(yt + 1, P, gt, B, seed).to_dicts()}
        parts["estimators"][label], parts["probabilities"][label] = est, P
    return out, parts


def holdout(model: GradingModel, table: pl.DataFrame, seed: int = 0, B: int = 500,
            fractions: tuple[float, float, float] = FRACTIONS, inner_folds: int = 3,
            calibration: str = CALIBRATION) -> dict:
    """Fit and calibrate (:func:`fit_calibrated`), metrics with patient-bootstrap CIs on test,
    for both the uncalibrated and the calibrated probabilities."""
    return holdout_run(model, table, seed, B, fractions, inner_folds, calibration)[0]


def holdout_spread(model: GradingModel, table: pl.DataFrame, seeds: list[int],
                   calibration: str = CALIBRATION) -> dict:
    """The hold-out repeated over split seeds, headline metrics only: how much one 20 %
    test split of ~60 patients moves (the reason CV is the view to choose models by)."""
    runs = []
    for seed in seeds:
        roles, fitted, calibrated = _fit_calibrated(model, table, seed, method=calibration)
        Xt, yt, _ = design_matrix(model, table[roles["test"]])
        runs.append({"seed": seed} | {
            f"{label}_{k}": v
            for label, est in (("uncalibrated", fitted.best_estimator_), ("calibrated", calibrated))
            for k, v in metrics.headline(yt + 1, predict_proba(est, Xt, N_CLASSES)).items()})
    return _summary(runs, "runs")


def _summary(folds: list[dict[str, float]], name: str = "folds") -> dict:
    """The rows under ``name`` plus each metric's mean and sd (ddof 1) over them."""
    arr = {k: np.array([f[k] for f in folds]) for k in folds[0] if k != "seed"}
    return {name: folds} | {f"{k}_mean": float(v.mean()) for k, v in arr.items()} | {
        f"{k}_sd": float(v.std(ddof=1)) for k, v in arr.items()}


def grouped_cv(model: GradingModel, table: pl.DataFrame, seed: int = 0, folds: int = 5,
               repeats: int = 1, inner_folds: int = 3) -> dict:
    """Patient-grouped, grade-stratified k-fold CV (``repeats`` reshuffles): the headline
    metrics of every test fold, their mean and standard deviation, and the pooled
    out-of-fold metrics of each repeat."""
    per_fold, pooled = [], []
    y = table["pfirrmann"].to_numpy()
    for r in range(repeats):
        P, tests = cross_val_proba(model, table, PatientKFold(folds, random_state=seed + r), seed,
                                   inner_folds)
        per_fold += [metrics.headline(y[t], P[t]) for t in tests]
        pooled.append(metrics.headline(y, P))
    return _summary(per_fold) | {"pooled_per_repeat": pooled}


def leave_one_scanner_out(model: GradingModel, table: pl.DataFrame, seed: int = 0,
                          inner_folds: int = 3) -> list[dict]:
    """One row per scanner held out: its patients and discs, the macro AUROC over the grades
    it holds (None when it holds one grade: no AUROC is defined), the binary AUROC (when it
    has both groups) and the accuracy."""
    scanners = table[SCANNER].to_list()
    y = table["pfirrmann"].to_numpy()
    splitter = LeaveOneGroupOutByPatient(scanners, column=SCANNER)
    P, tests = cross_val_proba(model, table, splitter, seed, inner_folds)
    rows = []
    for t in tests:
        if len(set(y[t].tolist())) > 1:
            m = metrics.multiclass(y[t], P[t])
            est = dict(zip(m["metric"], m["estimate"]))
        else:  # the R metrics need two classes; accuracy is the share predicted right
            est = {"macro_auroc": None, "accuracy": float(np.mean(P[t].argmax(axis=1) + 1 == y[t]))}
        high = y[t] >= metrics.HIGH_FROM
        rows.append({"scanner": scanners[t[0]], "n_patients": int(table[t]["patient_id"].n_unique()),
                     "n_discs": int(len(t)), "grades_present": sorted(set(y[t].tolist())),
                     "macro_auroc": est["macro_auroc"], "accuracy": est["accuracy"],
                     "binary_auroc": metrics.headline(y[t], P[t])["binary_auroc"]
                     if 0 < high.sum() < len(t) else None})
    return rows
