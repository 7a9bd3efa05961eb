"""`spinedlr extract deep`: deep features, the deep-feature selection module and Grad-CAM.

Outputs (under ``study.output``):
- ``features/deep_all.parquet``: every GAP-down4 feature, long layout (image_type "uctransnet",
  feature_class "down4_gap", feature "down4_000" ...)
- ``features/deep.parquet``: the features kept by the selection module (all of them when
  ``extract.deep_selection.enabled`` is false) — what the select stage reads
- ``features/deep_selection.parquet``: per ROI and feature, library statistics, cluster
  centroids, score, rank, kept; ``features/deep_selection.json``: cluster summaries
- ``features/deep_failures.parquet``; ``figures/gradcam/<roi>/<patient>.png`` (+ ``.npz``;
  ``<roi>-label<value>/`` for combine="each")
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
import torch

from spinedlr.config import Roi, Study
from spinedlr.extract.deep import FEATURE_CLASS, IMAGE_TYPE, feature_names, gap_features, roi_crops
from spinedlr.extract.deep_selection import select_deep
from spinedlr.extract.executors import progress_bar
from spinedlr.extract.gradcam import gradcam, save_gradcam
from spinedlr.extract.tables import FAILURE_SCHEMA, LONG_SCHEMA, ExtractionFailed
from spinedlr.extract.tasks import roi_units
from spinedlr.imaging import read_image, to_array
from spinedlr.manifest import load_manifest
from spinedlr.outputs import staged, write_atomic, write_text_atomic
from spinedlr.paths import DEEP, FEATURES, FIGURES, MODELS, StudyPaths
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import StageContext, StageResult, StageSpec

Loader = Callable[[Path], tuple[torch.nn.Module, dict]]


def default_loader(path: Path) -> tuple[torch.nn.Module, dict]:
    """The segment stage's checkpoint loader (imported late: only `extract deep` needs it)."""
    from spinedlr.segment.checkpoint import load_model

    return load_model(path)


@dataclass
class DeepSummary:
    n_rois: int
    n_failed: int
    seconds: float
    rois_per_second: float
    failures: pl.DataFrame

    def line(self) -> str:
        return (f"{self.n_rois} ROI(s) in {self.seconds:.1f} s ({self.rois_per_second:.2f}/s), "
                f"{self.n_failed} failed")


def model_path(study: Study, roi: str) -> Path:
    ds = study.config.extract.deep
    if ds.model:
        return study.resolve(ds.model.format(roi=roi))
    return study.paths.model(roi)


def library_rater(study: Study, roi: Roi) -> str:
    """The rater whose masks feed the selection library: their crops are all the ROI's slices."""
    rater = study.config.segment.model_dump().get("train_rater", "rater1")
    return rater if rater in roi.masks else next(iter(roi.masks))


def _long(pid: str, roi: str, rater: str, values: np.ndarray, names: list[str]) -> pl.DataFrame:
    n = len(names)
    return pl.DataFrame({
        "patient_id": [pid] * n, "roi": [roi] * n, "rater": [rater] * n,
        "image_type": [IMAGE_TYPE] * n, "feature_class": [FEATURE_CLASS] * n,
        "feature": names, "value": values.astype(np.float64),
    }, schema=LONG_SCHEMA)


def run_deep(
    study: Study, *, loader: Loader | None = None, patients: list[str] | None = None,
    show_progress: bool = True, fit_selection: bool = True,
) -> DeepSummary:
    """Deep features for every (patient, ROI unit, rater), then selection and Grad-CAM.

    Everything is written as one set (spinedlr.outputs.staged); failures are raised as
    ExtractionFailed after the other patients' results were written, unless
    ``runtime.keep_going``. ``fit_selection=False`` (a cohort scored by a fitted study) computes
    every feature the same way but fits no selection module: ``deep.parquet`` then holds all
    of them.
    """
    with staged(study.output) as work:
        summary = _run_deep(study, work, loader, patients, show_progress, fit_selection)
    if summary.n_failed and not study.config.runtime.keep_going:
        lines = [f"patient {f['patient_id']} ROI {f['roi']}: {f['error']}"
                 for f in summary.failures.head(10).iter_rows(named=True)]
        raise ExtractionFailed(f"{summary.line()}\n" + "\n".join(lines))
    return summary


def _run_deep(study: Study, work: Path, loader: Loader | None, patients: list[str] | None,
              show_progress: bool, fit_selection: bool = True) -> DeepSummary:
    cfg = study.config
    ds, sel = cfg.extract.deep, cfg.extract.deep_selection
    loader = loader or default_loader
    precision = cfg.segment.precision  # one setting for every network the study runs
    manifest = load_manifest(study)
    if patients is not None:
        manifest = manifest.filter(pl.col(cfg.patient_id).is_in(patients))
    torch.manual_seed(stage_seed(study, "deep"))
    start = time.perf_counter()
    parts: list[pl.DataFrame] = []
    failures: list[dict] = []
    library: dict[str, list[np.ndarray]] = {}
    n_rois = 0
    with progress_bar(enabled=show_progress) as bar:
        for roi in cfg.rois:
            model, meta = loader(model_path(study, roi.name))
            mc = dict(meta.get("model_config", {}))
            size = ds.img_size or int(mc.get("img_size", 224))
            in_ch = int(mc.get("in_channels", 1))
            lib_rater = library_rater(study, roi)
            job = bar.add_task(f"deep {roi.name}", total=manifest.height)
            for row in manifest.iter_rows(named=True):
                pid = str(row[cfg.patient_id])
                mine: list[pl.DataFrame] = []  # this patient's rows, kept only if all succeed
                try:
                    image = to_array(read_image(study.resolve_data(row[roi.image]), pid)).astype(np.float32)
                    for rater, col in roi.masks.items():
                        labels = to_array(read_image(study.resolve_data(row[col]), pid))
                        for unit, unit_labels in roi_units(roi):
                            mask = np.isin(labels, unit_labels).astype(np.uint8)
                            if not mask.any():
                                raise ValueError(f"patient {pid}: no voxels with labels "
                                                 f"{list(unit_labels)} in {row[col]}")
                            all_slices = rater == lib_rater and sel.enabled
                            crops = roi_crops(image, mask, roi.slice_axis, ds.margin, size,
                                              "mean" if all_slices else ds.aggregate)
                            feats = gap_features(model, crops.images, ds.batch_size, in_ch, precision)
                            if all_slices:
                                library.setdefault(unit, []).append(feats)
                            best = int(np.argmax(roi_area(mask, roi.slice_axis, crops.slices)))
                            value = feats[best] if ds.aggregate == "largest" else feats.mean(0)
                            mine.append(_long(pid, unit, rater, value, feature_names(len(value))))
                            if rater == lib_rater and pid in ds.gradcam_patients:
                                cam = gradcam(model, crops.images[best], crops.masks[best], precision)
                                save_gradcam(
                                    study.paths.under(work).gradcam(
                                        gradcam_folder(roi, unit_labels), pid),
                                    crops.images[best], crops.masks[best], cam,
                                    f"{pid} {unit} slice {int(crops.slices[best])}")
                    parts.extend(mine)
                    n_rois += len(mine)
                except Exception as err:  # one bad case must not sink the batch
                    failures.append({"patient_id": pid, "roi": roi.name, "rater": "",
                                     "image": str(row[roi.image]), "mask": "",
                                     "error_type": type(err).__name__, "error": str(err)})
                bar.advance(job)
    seconds = time.perf_counter() - start

    paths = study.paths.under(work)
    deep_all = pl.concat(parts) if parts else pl.DataFrame(schema=LONG_SCHEMA)
    write_atomic(paths.feature_table("deep_all"), deep_all.write_parquet)
    deep = deep_all
    if sel.enabled and fit_selection and parts:
        deep = _apply_selection(study, deep_all, library, paths)
    write_atomic(paths.deep, deep.write_parquet)
    failures_df = pl.DataFrame(failures, schema=FAILURE_SCHEMA)
    write_atomic(paths.feature_table("deep_failures"), failures_df.write_parquet)
    return DeepSummary(n_rois, len(failures), seconds, n_rois / seconds if seconds else 0.0,
                       failures_df)


def gradcam_folder(roi: Roi, labels: tuple[int, ...]) -> str:
    """``figures/gradcam/<folder>/``: the ROI name, plus the label value for combine="each"
    (label names are display text, e.g. "L5/S1", and never part of a path)."""
    return roi.name if roi.combine == "union" else f"{roi.name}-label{labels[0]}"


def roi_area(mask: np.ndarray, axis: int, slices: np.ndarray) -> np.ndarray:
    """ROI area of the given slices in the ORIGINAL mask (crops are resized, areas are not)."""
    other = tuple(a for a in range(3) if a != axis)
    return mask.sum(axis=other)[slices]


def _apply_selection(
    study: Study, deep_all: pl.DataFrame, library: dict[str, list[np.ndarray]], paths: StudyPaths
) -> pl.DataFrame:
    cfg = study.config
    sel = cfg.extract.deep_selection
    tables, summaries, kept_rows = [], {}, []
    for unit in deep_all["roi"].unique(maintain_order=True).to_list():
        roi_name = unit.split(":", 1)[0]
        lib_rater = library_rater(study, cfg.roi(roi_name))
        sub = deep_all.filter((pl.col("roi") == unit) & (pl.col("rater") == lib_rater))
        wide = sub.pivot(on="feature", index="patient_id", values="value")
        names = [c for c in wide.columns if c != "patient_id"]
        table, summary = select_deep(
            np.concatenate(library[unit]), wide.select(names).to_numpy(), names,
            n_clusters=sel.n_clusters, keep_fraction=sel.keep_fraction, seed=stage_seed(study, "deep_selection"),
        )
        tables.append(table.with_columns(pl.lit(unit).alias("roi")).select("roi", pl.all().exclude("roi")))
        summaries[unit] = summary
        kept_rows.append(table.filter("kept").select(pl.lit(unit).alias("roi"), "feature"))
    write_atomic(paths.feature_table("deep_selection"), pl.concat(tables, how="diagonal").write_parquet)
    write_text_atomic(paths.at(FEATURES, "deep_selection.json"), json.dumps(summaries, indent=2))
    return deep_all.join(pl.concat(kept_rows), on=["roi", "feature"], how="semi")


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    summary = run_deep(study, show_progress=ctx.show_progress)
    written = [n for n in (*SPEC.outputs, *SPEC.optional_outputs) if (study.output / n).exists()]
    return StageResult(SPEC.name, {n: study.output / n for n in written}, summary.line(), summary)


def _enabled(study: Study) -> bool:
    return study.config.extract.deep.enabled and study.config.segment.enabled


SPEC = StageSpec(
    name="deep",
    settings=("extract.deep", "extract.deep_selection", "segment.precision", "segment.train_rater"),
    upstream=(MODELS,),
    outputs=(DEEP, f"{FEATURES}/deep_all.parquet", f"{FEATURES}/deep_failures.parquet"),
    optional_outputs=(f"{FEATURES}/deep_selection.parquet", f"{FEATURES}/deep_selection.json",
                      f"{FIGURES}/gradcam"),  # selection module on / Grad-CAM patients named
    run=_run_stage,
    reads_images=True,
    enabled=_enabled,
    fixed_split=None,  # upstream of the fusion stage too
    description="deep features of the segmentation network, their selection, Grad-CAM",
)
