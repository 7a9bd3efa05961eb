"""Prepare what the report reads: small CSV tables and overview figures.

Why a preparation step: the report is an R (knitr) document and Debian's R has no arrow, so
Parquet outputs are converted to CSV here, and large tables (the long feature table) are
summarised in Python rather than shipped whole to R.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from spinedlr.compare.truth import latent_truth  # noqa: E402
from spinedlr.config import Study  # noqa: E402
from spinedlr.imaging import read_image, to_array  # noqa: E402
from spinedlr.manifest import load_manifest  # noqa: E402
from spinedlr.outputs import write_atomic, write_text_atomic  # noqa: E402
from spinedlr.paths import COMPARE, EXTERNAL, SEGMENTATION, SELECTION, STATS  # noqa: E402


def _copy_tables(src: Path, dest: Path, prefix: str) -> None:
    for table in sorted(src.glob("*.parquet")):
        write_atomic(dest / f"{prefix}_{table.stem}.csv", pl.read_parquet(table).write_csv)


def extraction_summary(features_dir: Path) -> pl.DataFrame | None:
    """Features per ROI, rater and family, with patients and non-finite values counted.

    A feature is (image type, class, name): ``firstorder_Mean`` of the original image and of
    a wavelet band are two features, as the selection funnel counts them."""
    parts = []
    for family in ("radiomics", "deep"):
        f = features_dir / f"{family}.parquet"
        if f.exists():
            parts.append(
                pl.scan_parquet(f)
                .group_by("roi", "rater")
                .agg(
                    pl.col("patient_id").n_unique().alias("patients"),
                    pl.concat_str("image_type", "feature_class", "feature", separator="\x1f")
                    .n_unique().alias("features"),
                    (~pl.col("value").is_finite()).sum().alias("non_finite"),
                )
                .with_columns(pl.lit(family).alias("family"))
                .collect()
            )
    if not parts:
        return None
    return pl.concat(parts).select("family", "roi", "rater", "patients", "features", "non_finite").sort(
        "family", "roi", "rater"
    )


def segmentation_summary(metrics: pl.DataFrame) -> pl.DataFrame:
    """Mean (SD) Dice and mean HD95 per ROI and label, patients the network did not train on
    apart from its training set (only the first measure generalisation)."""
    if "trained_on" not in metrics.columns:
        metrics = metrics.with_columns(pl.lit(None, pl.Boolean).alias("trained_on"))
    split = (pl.when(pl.col("trained_on").is_null()).then(pl.lit("not recorded"))
             .when(pl.col("trained_on")).then(pl.lit("training set"))
             .otherwise(pl.lit("not trained on")))
    return (metrics.with_columns(split.alias("patients"))
            .group_by("roi", "label_name", "patients")
            .agg(pl.len().alias("cases"), pl.col("dice").mean().alias("dice"),
                 pl.col("dice").std().alias("dice_sd"), pl.col("hd95_mm").mean().alias("hd95_mm"))
            .with_columns(pl.col("patients").replace_strict(
                {"not trained on": 0, "training set": 1, "not recorded": 2}).alias("_order"))
            .sort("roi", "label_name", "_order").drop("_order"))


def adjusted_parameters(study: Study, manifest: pl.DataFrame) -> int:
    """Parameters of an adjusted model besides the intercept: the score, one per continuous
    or ordinal covariate, and one per non-reference level present of a categorical one (how
    the R package codes them), which is what events per parameter must divide by."""
    cfg = study.config
    n = 1
    for cov in cfg.covariates:
        rank = cov.type.value in ("continuous", "ordinal") or (
            cov.type.value == "binary" and cov.name == cfg.comparator)
        n += 1 if rank else max(1, manifest[cov.name].drop_nulls().n_unique() - 1)
    return n


def headline_auc(table2: pl.DataFrame, validation: pl.DataFrame | None) -> pl.DataFrame:
    """Per model: the apparent (in-sample) AUC beside the full-pipeline validated AUC."""
    app = table2.select("score", "model", pl.col("auc").alias("apparent"),
                        pl.col("auc_lower").alias("apparent_lower"),
                        pl.col("auc_upper").alias("apparent_upper"))
    if validation is None:
        return app.with_columns(*(pl.lit(None, pl.Float64).alias(c) for c in
                                  ("validated", "validated_lower", "validated_upper")),
                                pl.lit(None, pl.String).alias("method"))
    from spinedlr.select.validation import METHOD  # noqa: PLC0415
    val = validation.filter(pl.col("method") == METHOD).select(
        "score", "model", pl.col("auc").alias("validated"),
        pl.col("auc_lower").alias("validated_lower"), pl.col("auc_upper").alias("validated_upper"),
        pl.format("{} × {}-fold, selection and weights refitted in every fold",
                  pl.col("repeats"), pl.col("folds")).alias("method"))
    return app.join(val, on=["score", "model"], how="left", maintain_order="left")


OPTIMISM_LABELS = {"auc": "optimism-corrected AUC",
                   "calibration_slope": "optimism-corrected calibration slope",
                   "calibration_intercept": "optimism-corrected calibration intercept"}


def table3_display(t3: pl.DataFrame) -> pl.DataFrame:
    """Table 3 rows as the report names them: what each number is, and the optimism beside
    the optimism-corrected AUC (apparent minus corrected)."""
    app = t3.filter((pl.col("method") == "apparent") & (pl.col("statistic") == "auc")).select(
        "score", "model", pl.col("estimate").alias("_apparent"))
    label = (pl.when(pl.col("method") == "optimism")
             .then(pl.col("statistic").replace_strict(OPTIMISM_LABELS, default=pl.col("statistic")))
             .when(pl.col("method") == "apparent").then(pl.lit("apparent AUC"))
             .when(pl.col("method") == "bootstrap").then(pl.lit("out-of-bag AUC"))
             .otherwise(pl.lit("AUC of pooled out-of-fold predictions")))
    return (t3.join(app, on=["score", "model"], how="left", maintain_order="left")
            .with_columns(label.alias("quantity"),
                          pl.when((pl.col("method") == "optimism") & (pl.col("statistic") == "auc"))
                          .then(pl.col("_apparent") - pl.col("estimate")).alias("optimism"))
            .drop("_apparent"))


def radscore_formulas(selection_dir: Path) -> pl.DataFrame | None:
    """One row per term of every saved Radscore formula (intercept first)."""
    rows = []
    for js in sorted(selection_dir.glob("radscore_*.json")):
        spec = json.loads(js.read_text())
        name = js.stem.removeprefix("radscore_")
        rows.append({"radscore": name, "term": "(intercept)", "coefficient": spec.get("intercept"),
                     "mean": None, "sd": None})
        for term in spec.get("features", []):
            rows.append({"radscore": name, "term": term["feature"], "coefficient": term["coef"],
                         "mean": term.get("mean"), "sd": term.get("sd")})
    return pl.DataFrame(rows) if rows else None


def overlay_figure(study: Study, dest: Path, n_cases: int = 3) -> Path | None:
    """Image slices with rater-1 (and predicted, when present) mask outlines per ROI."""
    cfg = study.config
    df = load_manifest(study).head(n_cases)
    fig, axes = plt.subplots(len(cfg.rois), n_cases, figsize=(3 * n_cases, 3 * len(cfg.rois)),
                             squeeze=False)
    for i, roi in enumerate(cfg.rois):
        for j, row in enumerate(df.iter_rows(named=True)):
            pid = row[cfg.patient_id]
            img = to_array(read_image(study.resolve_data(row[roi.image]), pid)).astype(float)
            ref = to_array(read_image(study.resolve_data(row[roi.masks[next(iter(roi.masks))]]), pid))
            k = int(np.argmax((ref > 0).sum(axis=tuple(a for a in range(3) if a != roi.slice_axis))))
            take = lambda a: np.take(a, k, axis=roi.slice_axis)  # noqa: E731
            ax = axes[i][j]
            ax.imshow(take(img), cmap="gray")
            ax.contour(take(ref) > 0, levels=[0.5], colors="#2ca02c", linewidths=1)
            pred = study.paths.mask(roi.name, str(pid))
            if pred.exists():
                ax.contour(take(to_array(read_image(pred, pid))) > 0, levels=[0.5],
                           colors="#d62728", linewidths=1, linestyles="--")
            ax.set_title(f"{pid} · {roi.name}", fontsize=9)
            ax.axis("off")
    fig.suptitle("green: rater 1 · red dashed: UCTransNet prediction", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, dest, "overlays")


FIGURE_DPI = 300


def save_figure(fig, dest: Path, name: str) -> Path:
    """Save a figure at 300 dpi: the PNG the report embeds (in dest), and PNG + PDF for
    export beside the report's R figures (dest/../figures), so every figure of the report
    can be taken one by one into a manuscript."""
    figures = dest.parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    out = dest / f"{name}.png"
    for path in (out, figures / f"{name}.pdf"):
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=FIGURE_DPI))
    plt.close(fig)
    shutil.copyfile(out, figures / f"{name}.png")
    return out


RISK_LEVELS = (("low", 0.1), ("intermediate-low", 0.4), ("intermediate-high", 0.7), ("high", 0.95))


def risk_level_patients(scores: pl.DataFrame, column: str) -> list[tuple[str, str, float]]:
    """(level, patient_id, score) of the patients nearest four quantiles of a Radscore."""
    s = scores.drop_nulls(column).sort(column)
    picked = []
    for level, q in RISK_LEVELS:
        row = s.row(min(s.height - 1, int(round(q * (s.height - 1)))), named=True)
        picked.append((level, str(row["patient_id"]), float(row[column])))
    return picked


def gradcam_panel(study: Study, dest: Path) -> Path | None:
    """Grad-CAM of each ROI's network for four patients spanning the combined Radscore."""
    from spinedlr.extract.deep import roi_crops
    from spinedlr.extract.deep_stage import default_loader, model_path
    from spinedlr.extract.gradcam import gradcam

    cfg = study.config
    scores_path = study.paths.radscores
    models = {roi.name: model_path(study, roi.name) for roi in cfg.rois}
    if not scores_path.exists() or not all(p.exists() for p in models.values()):
        return None
    scores = pl.read_parquet(scores_path)
    # the combined Radscore, else the first ROI's: the score the report leads with
    wanted = ("radscore_combined", *(f"radscore_{roi.name}" for roi in cfg.rois))
    column = next((c for c in wanted if c in scores.columns), None)
    if column is None:
        return None
    picked = risk_level_patients(scores, column)
    manifest = load_manifest(study)
    rows = {r[cfg.patient_id]: r for r in manifest.iter_rows(named=True)}
    ds = cfg.extract.deep
    fig, axes = plt.subplots(len(cfg.rois), len(picked), figsize=(2.6 * len(picked), 2.8 * len(cfg.rois)),
                             squeeze=False)
    for i, roi in enumerate(cfg.rois):
        model, meta = default_loader(models[roi.name])
        size = ds.img_size or int(meta.get("model_config", {}).get("img_size", 224))
        for j, (level, pid, value) in enumerate(picked):
            row = rows[pid]
            image = to_array(read_image(study.resolve_data(row[roi.image]), pid)).astype(np.float32)
            labels = to_array(read_image(study.resolve_data(row[roi.masks[cfg.select.model_rater]]), pid))
            mask = np.isin(labels, list(roi.labels)).astype(np.uint8)
            crops = roi_crops(image, mask, roi.slice_axis, ds.margin, size, "largest")
            cam = gradcam(model, crops.images[0], crops.masks[0], cfg.segment.precision)
            ax = axes[i][j]
            ax.imshow(crops.images[0], cmap="gray")
            ax.imshow(cam, cmap="jet", alpha=0.4)
            ax.contour(crops.masks[0] > 0, levels=[0.5], colors="white", linewidths=0.8)
            ax.set_title(f"{roi.name} · {level} risk\n{pid}, {column.removeprefix('radscore_')} "
                         f"Radscore {value:.2f}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, dest, "gradcam_panel")


def methods_settings(study: Study) -> dict:
    """What the methods paragraph and the provenance table state about the run's settings.

    The PyRadiomics parameters are the effective ones (file plus the settings that override
    it) of the first ROI; the file is named relative to the study (or as the shipped
    reference file) with its SHA-256, so a reader can tell which parameters were used.
    """
    from spinedlr.extract.params import effective_params, reference_params_path

    cfg = study.config
    ext = cfg.extract
    params_file = study.resolve(ext.params) if ext.params else reference_params_path()
    try:
        shown = str(params_file.resolve().relative_to(study.root.resolve()))
    except ValueError:
        shown = params_file.name if not ext.params else str(ext.params)
    roi = cfg.rois[0]
    return {
        "params_file": shown,
        "params_sha256": hashlib.sha256(params_file.read_bytes()).hexdigest() if params_file.exists() else None,
        "radiomics_params": effective_params(ext, study.root, roi.dim, roi.slice_axis),
        "segment_resolved": cfg.segment.resolved().model_dump(mode="json"),
        "settings": {section: getattr(cfg, section).model_dump(mode="json")
                     for section in ("segment", "extract", "select", "evaluate")},
    }


def relative_to_study(study: Study, path: Path) -> str:
    """A path as the report prints it: relative to the study's folder, never absolute (an
    absolute path tells every reader of a shared report the author's user name and disks)."""
    try:
        return path.resolve().relative_to(study.root).as_posix()
    except ValueError:
        return path.name


def prepare_report_data(study: Study, dest: Path) -> Path:
    """Write every CSV and figure the report reads into dest; return dest."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = study.paths
    for folder in (SEGMENTATION, SELECTION, STATS, EXTERNAL, COMPARE):  # external, compare: optional
        _copy_tables(paths.at(folder), dest, folder)
    tables = {"segmentation_summary": (paths.segmentation_metrics, segmentation_summary),
              "table3_display": (paths.stats_table("table3"), table3_display),
              "extraction_failures": (paths.feature_table("failures"), None),
              "extraction_diagnostics": (paths.feature_table("diagnostics"), None),
              "radscores": (paths.radscores, None)}
    for name, (src, derive) in tables.items():
        if src.exists():
            table = pl.read_parquet(src)
            write_atomic(dest / f"{name}.csv", (derive(table) if derive else table).write_csv)
    t2 = paths.stats_table("table2")
    if t2.exists():
        val = paths.selection_file("validation.parquet")
        headline = headline_auc(pl.read_parquet(t2), pl.read_parquet(val) if val.exists() else None)
        write_atomic(dest / "headline_auc.csv", headline.write_csv)
    for name, table in (("extraction_summary", extraction_summary(paths.features)),
                        ("radscore_formulas", radscore_formulas(paths.selection)),
                        ("latent_truth", latent_truth(study))):
        if table is not None:
            write_atomic(dest / f"{name}.csv", table.write_csv)
    manifest = load_manifest(study)  # only counts leave this function: no clinical rows
    write_text_atomic(dest / "study.json", json.dumps({
        "name": study.config.name, "title": study.config.report.title, "outcome": study.config.outcome,
        "outcome_label": study.config.outcome_label, "comparator": study.config.comparator,
        "config_hash": study.config.config_hash(), "seed": study.config.seed,
        "rois": [r.name for r in study.config.rois],
        "covariates": [c.model_dump(mode="json") for c in study.config.covariates],
        "adjusted_parameters": adjusted_parameters(study, manifest),
        "interaction": list(study.config.evaluate.interaction or []),
        "study_path": relative_to_study(study, study.path),
        "n_patients": manifest.height, "n_events": int(manifest[study.config.outcome].sum()),
        **methods_settings(study),
    }, indent=2))
    overlay_figure(study, dest)
    gradcam_panel(study, dest)
    return dest
