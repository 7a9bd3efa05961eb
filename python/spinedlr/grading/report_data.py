"""Prepare what the multi-class report (reports/grading.qmd) reads: CSV copies of the
grading stage's tables, the display tables derived from them, the study's facts as JSON
and the figure of example crops per grade.

Why derived tables are made here and not in R: the metric and CV tables regroup numbers the
stage wrote (parquet, which Debian's R cannot read); doing it in Python keeps the R document
to formatting and drawing, and a test compares the rendered numbers with the parquet ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from spinedlr.config import Study  # noqa: E402
from spinedlr.grading.features import BIN_COUNT, RADIOMICS_CLASSES, load_crop, load_manifest  # noqa: E402
from spinedlr.grading.metrics import BINARY_THRESHOLD, GRADES, HIGH_FROM  # noqa: E402
from spinedlr.grading.report_tables import RELIABILITY_BINS  # noqa: E402
from spinedlr.outputs import write_atomic, write_text_atomic  # noqa: E402
from spinedlr.report.data import relative_to_study, save_figure  # noqa: E402

TABLES = ("cohort", "cv_folds", "holdout", "loso", "test_predictions", "confusion", "roc",
          "reliability")
METRICS = [("macro_auroc", "Macro AUROC (one-vs-rest)"), ("hand_till_auc", "Hand-Till AUC"),
           ("macro_auprc", "Macro AUPRC"), ("macro_f1", "Macro F1"), ("accuracy", "Accuracy"),
           ("mcc", "MCC"), ("brier", "Brier score (multi-class)")]
BINARY = [("auroc", "AUROC"), ("sensitivity", "Sensitivity"), ("specificity", "Specificity")]
EXAMPLES_PER_GRADE = 4


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns (a scanner's grades present) as comma-separated text: CSV has no lists."""
    return frame.with_columns(pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(", ")
                              for c, t in frame.schema.items() if isinstance(t, pl.List))


def metric_table(holdout: pl.DataFrame) -> pl.DataFrame:
    """One row per model, probability set and reported metric (display name, estimate, CI),
    in the report's order: the multi-class set, per-grade AUROC, then the binary task."""
    mc = holdout.filter(pl.col("task") == "multiclass")
    rows = [(m, label, mc.filter((pl.col("metric") == m) & pl.col("class").is_null()))
            for m, label in METRICS]
    rows += [(f"auroc_{g}", f"AUROC grade {g} vs rest",
              mc.filter((pl.col("metric") == "auroc") & (pl.col("class") == str(g)))) for g in GRADES]
    high = f"{HIGH_FROM}-{max(GRADES)}"
    rows += [(f"binary_{m}", f"1-{HIGH_FROM - 1} vs {high}: {label}",
              holdout.filter((pl.col("task") == "binary") & (pl.col("metric") == m))) for m, label in BINARY]
    parts = [d.select("model", "probabilities", pl.lit(i).alias("order"), pl.lit(key).alias("key"),
                      pl.lit(label).alias("metric"), "estimate", "lower", "upper")
             for i, (key, label, d) in enumerate(rows)]
    return pl.concat(parts).sort("probabilities", "order", maintain_order=True)


def cv_table(summary: dict) -> pl.DataFrame:
    """Per model: fold mean and SD of macro and binary AUROC, and the pooled out-of-fold ones
    (mean over repeats)."""
    rows = []
    for name, s in summary["cv"].items():
        pooled = s["pooled_per_repeat"]
        rows.append({"model": name, "features": s["n_features"],
                     "macro_auroc_mean": s["macro_auroc_mean"], "macro_auroc_sd": s["macro_auroc_sd"],
                     "binary_auroc_mean": s["binary_auroc_mean"], "binary_auroc_sd": s["binary_auroc_sd"],
                     "pooled_macro_auroc": sum(p["macro_auroc"] for p in pooled) / len(pooled),
                     "pooled_binary_auroc": sum(p["binary_auroc"] for p in pooled) / len(pooled)})
    return pl.DataFrame(rows)


def crops_figure(study: Study, dest: Path, per_grade: int = EXAMPLES_PER_GRADE) -> Path:
    """T2 crops of the first ``per_grade`` patients (by ID) of every grade, one row per grade."""
    m = load_manifest(study.manifest_dir, study.manifest_path.name)
    t2 = m.filter(pl.col("sequence") == "t2").sort("patient_id", "ivd_label")
    fig, axes = plt.subplots(len(GRADES), per_grade, figsize=(1.6 * per_grade, 1.5 * len(GRADES)),
                             squeeze=False)
    for i, g in enumerate(GRADES):
        rows = t2.filter(pl.col(study.config.outcome) == g).unique("patient_id", keep="first",
                                                                      maintain_order=True).head(per_grade)
        for j in range(per_grade):
            ax = axes[i][j]
            ax.axis("off")
            if j < rows.height:
                r = rows.row(j, named=True)
                ax.imshow(load_crop(study.resolve_data(r["file"])), cmap="gray")
                where = r.get("level") or f"disc {r['ivd_label']}"
                ax.set_title(f"grade {g} · {r['patient_id']} {where}", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, dest, "grading_crops")


def study_facts(study: Study, summary: dict) -> dict:
    """What the report's text states: names, settings and the cohort, from config and summary."""
    from spinedlr.grading.fit import MODELS
    from spinedlr.grading.holdout import describe_calibration

    cfg = study.config
    v = cfg.design.validation
    return {
        "name": cfg.name, "title": cfg.report.title, "outcome_label": cfg.outcome_label,
        "config_hash": cfg.config_hash(), "seed": cfg.seed, "study_path": relative_to_study(study, study.path),
        "models": summary["models"], "primary_model": summary["primary_model"],
        "cohort": summary["cohort"], "split": [v.train, v.validation, v.test],
        "holdout_n": summary["holdout"][summary["primary_model"]]["n_discs"],
        "holdout_patients": summary["holdout"][summary["primary_model"]]["n_patients"],
        "bootstrap": cfg.grading.bootstrap, "cv_folds": cfg.grading.cv_folds,
        "cv_repeats": cfg.grading.cv_repeats, "loso_model": cfg.grading.loso_model,
        "calibration": cfg.design.calibration,
        "calibration_label": describe_calibration(cfg.design.calibration)[0],
        "calibration_text": describe_calibration(cfg.design.calibration)[1],
        "binary_threshold": BINARY_THRESHOLD, "high_from": HIGH_FROM, "reliability_bins": RELIABILITY_BINS,
        "deep_models": [n for n in summary["models"] if "deep" in MODELS[n].families],
        "t1_models": [n for n in summary["models"] if "t1" in MODELS[n].families],
        "radiomics_classes": list(RADIOMICS_CLASSES), "bin_count": BIN_COUNT,
    }


def prepare_grading_data(study: Study, dest: Path) -> Path:
    """Write every CSV, the facts and the figure the grading report reads into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = study.paths
    for name in TABLES:
        if paths.grading_table(name).exists():
            table = csv_ready(pl.read_parquet(paths.grading_table(name)))
            write_atomic(dest / f"grading_{name}.csv", table.write_csv)
    summary = json.loads(paths.grading_summary.read_text())
    write_atomic(dest / "metric_table.csv", metric_table(pl.read_parquet(paths.grading_table("holdout"))).write_csv)
    write_atomic(dest / "cv_table.csv", cv_table(summary).write_csv)
    write_text_atomic(dest / "study.json", json.dumps(study_facts(study, summary), indent=2))
    crops_figure(study, dest)
    return dest
