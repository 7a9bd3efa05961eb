"""The grading stage: a per-disc Pfirrmann grade study run by `spinedlr run` (issue 15).

What it does, all on one feature table (``grading.features``, cached under
``grading/cache/`` keyed by the manifest's bytes, the feature version and the seed):

* patient-grouped, grade-stratified CV of ``design.models`` (and the crude baseline when
  ``grading.baseline``): per-fold macro one-vs-rest AUROC and binary (1-3 vs 4-5) AUROC;
* the fixed patient-level split of ``design.validation`` (60/20/20): fit and calibrate by
  ``design.calibration`` (``isotonic``: fit on train, map on validation; ``isotonic_cv``: fit
  on train and validation, map on their patient-grouped out-of-fold predictions), metrics
  with ``grading.bootstrap`` patient-bootstrap CIs on test;
* leave-one-scanner-out of ``grading.loso_model``;
* for the report, the test split's probabilities (before and after calibration), confusion
  matrix, per-grade ROC points and reliability bins of every model (``report_tables``);
* for ``spinedlr apply``, the primary model (best CV macro AUROC of ``design.models``)
  fitted and calibrated as above, frozen (``frozen``) with the calibration's name.

Every table is Polars, written as parquet under ``grading/`` with ``write_atomic`` in a
staging folder that moves into place as one set; the headline numbers go to
``grading/summary.json``. All seeds are ``stage_seed(study,
"grading")`` (the study seed), so a study with seed 0 reproduces ``bench/spider.py``.

Why ``reads_images`` is false: the pipeline's image validation checks one row per patient
and a 0/1 outcome (the reference design); the feature extraction reads every crop itself
and its cache is keyed by the manifest, so a changed image needs a changed manifest (or
``--force``) to be seen.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from spinedlr.cli_support import console
from spinedlr.design.support import per_unit_multiclass
from spinedlr.outputs import staged, write_atomic, write_text_atomic
from spinedlr.paths import GRADING
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec

if TYPE_CHECKING:
    from spinedlr.config import Study


def model_names(study: "Study") -> list[str]:
    """The models the stage fits: the baseline (when asked) then design.models, in order."""
    names = [m.name for m in study.config.design.models]
    return (["baseline_lr"] if study.config.grading.baseline and "baseline_lr" not in names
            else []) + names


def _write(path, table: pl.DataFrame) -> None:
    write_atomic(path, lambda tmp: table.write_parquet(tmp))


def _cohort(study: "Study", table: pl.DataFrame, weights: str) -> tuple[pl.DataFrame, dict]:
    """(discs per scanner and grade, the cohort's counts and the excluded T1-only discs)."""
    from spinedlr.grading.features import SCANNER, cohort, load_manifest

    counts = table.group_by(SCANNER, "pfirrmann").len("n_discs").sort(SCANNER, "pfirrmann")
    return counts, cohort(table, load_manifest(study.manifest_dir, study.manifest_path.name), weights)


def _cv(study: "Study", table: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, dict]:
    """(one row per model and fold, per-model mean/sd/pooled) of the grouped CV."""
    from spinedlr.grading.fit import MODELS
    from spinedlr.grading.holdout import grouped_cv

    g, inner = study.config.grading, study.config.design.search_folds
    rows, summary = [], {}
    for name in model_names(study):
        res = grouped_cv(MODELS[name], table, seed, g.cv_folds, g.cv_repeats, inner)
        rows += [{"model": name, "repeat": i // g.cv_folds, "fold": i % g.cv_folds} | f
                 for i, f in enumerate(res["folds"])]
        summary[name] = {k: v for k, v in res.items() if k != "folds"} | {
            "n_features": len(MODELS[name].columns(table))}
        console.print(f"cv {name}: macro AUROC {res['macro_auroc_mean']:.3f} ± "
                      f"{res['macro_auroc_sd']:.3f}, binary AUROC {res['binary_auroc_mean']:.3f} ± "
                      f"{res['binary_auroc_sd']:.3f}")
    return pl.DataFrame(rows), summary


def primary_model(study: "Study", cv: dict) -> str:
    """The design model with the best mean CV macro AUROC: the one saved for `apply` and
    drawn in the report (chosen by CV, never by the single hold-out split)."""
    names = [m.name for m in study.config.design.models]
    return max(names, key=lambda n: cv[n]["macro_auroc_mean"])


def _holdout(study: "Study", table: pl.DataFrame, seed: int, primary: str, work: Path
             ) -> tuple[pl.DataFrame, dict, dict[str, pl.DataFrame]]:
    """(every hold-out metric of every model, long; the headline rows per model; the test
    split's report tables). Saves the primary model, calibrated, for `apply` under ``work``."""
    from spinedlr.grading.fit import MODELS
    from spinedlr.grading.frozen import save_frozen
    from spinedlr.grading.holdout import describe_calibration, holdout_run
    from spinedlr.grading.report_tables import test_tables

    v, g, method = study.config.design.validation, study.config.grading, study.config.design.calibration
    fractions = (v.train, v.validation, v.test)
    parts, summary, tests = [], {}, []
    console.print(f"hold-out calibration {method}: {describe_calibration(method)[1]}")
    for name in model_names(study):
        res, fitted = holdout_run(MODELS[name], table, seed, g.bootstrap, fractions,
                                  study.config.design.search_folds, method)
        for probs in ("uncalibrated", "calibrated"):
            for task in ("multiclass", "binary"):
                parts.append(pl.DataFrame(res[probs][task]).with_columns(
                    pl.lit(name).alias("model"), pl.lit(probs).alias("probabilities"),
                    pl.lit(task).alias("task")))
        tests.append(test_tables(name, table[fitted["roles"]["test"]], fitted["probabilities"],
                                 g.bootstrap, seed))
        if name == primary:
            save_frozen(study.paths.under(work).grading_model, fitted["estimators"]["calibrated"],
                        name, MODELS[name].columns(table), seed, table["deep_weights"][0],
                        MODELS[name].families, method)
        summary[name] = {k: res[k] for k in ("n_patients", "n_discs", "best_params", "calibration",
                                             "fitted_on")} | {
            f"{p}_{m}": _headline(res[p], m) for p in ("uncalibrated", "calibrated")
            for m in ("macro_auroc", "binary_auroc")}
        c = summary[name]
        console.print(f"hold-out {name} ({method}): macro AUROC {_ci(c['calibrated_macro_auroc'])}, "
                      f"binary AUROC {_ci(c['calibrated_binary_auroc'])}")
    table_out = pl.concat(parts, how="diagonal_relaxed")
    front = ["model", "probabilities", "task"]
    report = {k: pl.concat([t[k] for t in tests], how="diagonal_relaxed") for k in tests[0]}
    return table_out.select(front + [c for c in table_out.columns if c not in front]), summary, report


def _headline(res: dict, metric: str) -> dict:
    """Estimate and CI of the macro AUROC (multi-class rows) or binary AUROC (binary rows)."""
    rows = res["multiclass"] if metric == "macro_auroc" else res["binary"]
    want = "macro_auroc" if metric == "macro_auroc" else "auroc"
    r = next(r for r in rows if r["metric"] == want)
    return {k: r[k] for k in ("estimate", "lower", "upper")}


def _ci(h: dict) -> str:
    if h["lower"] is None:
        return f"{h['estimate']:.3f}"
    return f"{h['estimate']:.3f} ({h['lower']:.3f}-{h['upper']:.3f})"


def _loso(study: "Study", table: pl.DataFrame, seed: int) -> pl.DataFrame:
    from spinedlr.grading.fit import MODELS
    from spinedlr.grading.holdout import leave_one_scanner_out

    name = study.config.grading.loso_model
    loso = pl.DataFrame(leave_one_scanner_out(MODELS[name], table, seed, study.config.design.search_folds)
                        if name else [], schema=None)
    if loso.height:
        console.print(f"leave-one-scanner-out {name}: macro AUROC "
                      f"{loso['macro_auroc'].min():.3f}-{loso['macro_auroc'].max():.3f} over "
                      f"{loso.height} scanners")
    return loso


def _run(study: "Study", ctx: StageContext) -> StageResult:
    from spinedlr.grading.features import feature_table

    seed, paths, t0 = stage_seed(study, "grading"), study.paths, time.perf_counter()
    timing: dict[str, float] = {}
    table, weights = feature_table(study.manifest_dir, paths.grading_cache, seed,
                                   manifest=study.manifest_path.name)
    timing["features"] = time.perf_counter() - t0
    counts, cohort = _cohort(study, table, weights)
    console.print(f"grading: {cohort['n_discs']} discs of {cohort['n_patients']} patients; "
                  f"deep features: {weights}")
    summary: dict = {"seed": seed, "cohort": cohort, "models": model_names(study)}
    with warnings.catch_warnings(), staged(study.output) as work:  # outputs move in as one set
        # inner search folds stratify on patients' grades; grade 5 has fewer patients than
        # folds, which only makes scikit-learn warn
        warnings.filterwarnings("ignore", message="The least populated class")
        t = time.perf_counter()
        folds, summary["cv"] = _cv(study, table, seed)
        summary["primary_model"] = primary_model(study, summary["cv"])
        timing["cv"] = time.perf_counter() - t
        t = time.perf_counter()
        metrics, summary["holdout"], report = _holdout(study, table, seed, summary["primary_model"], work)
        timing["holdout"] = time.perf_counter() - t
        t = time.perf_counter()
        loso = _loso(study, table, seed)
        timing["loso"] = time.perf_counter() - t
        summary["loso"] = {"model": study.config.grading.loso_model, "rows": loso.to_dicts()}
        summary["timing_s"] = timing | {"total": time.perf_counter() - t0}
        console.print(f"grading: {summary['timing_s']['total']:.0f} s; tables in {paths.grading}")
        tables = {"cohort": counts, "cv_folds": folds, "holdout": metrics, "loso": loso} | report
        for name, frame in tables.items():
            _write(paths.under(work).grading_table(name), frame)
        write_text_atomic(paths.under(work).grading_summary, json.dumps(summary, indent=2, default=str))
    outputs = {name: paths.grading_table(name) for name in tables} | {
        "summary": paths.grading_summary, "model": paths.grading_model}
    return StageResult(SPEC.name, outputs, f"{len(summary['models'])} model(s) in "
                       f"{summary['timing_s']['total']:.0f} s", summary)


def _enabled(study: "Study") -> bool:
    return per_unit_multiclass(study.config.design)


SPEC = StageSpec(
    name="grading",
    settings=("grading", "design"),
    upstream=(),
    outputs=(GRADING,),
    run=_run,
    study_keys=CORE_KEYS,
    enabled=_enabled,
    per_unit_multiclass=True,
    description="per-disc multi-class grading: grouped CV, calibrated hold-out, scanner hold-out",
)
