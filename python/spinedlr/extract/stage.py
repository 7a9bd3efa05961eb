"""The extract stage: `run(study)` for handcrafted features, `run_deep(study)` for deep ones.

Outputs (under ``study.output``):
- ``features/radiomics.parquet``: long table (patient_id, roi, rater, image_type,
  feature_class, feature, value)
- ``features/diagnostics.parquet``: one row per task — settings hash, cache key, executor,
  package versions, voxel count, bounding box, time and peak memory of the worker
- ``features/failures.parquet``: one row per failed task with its reason (empty when none)
- ``features/radiomics.provenance.json``: config hash, effective parameters, versions
- ``features/cache/radiomics/``: per-task content-addressed results (what makes re-runs resume)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl

from spinedlr.config import Study
from spinedlr.errors import SpinedlrError
from spinedlr.extract.cache import TaskCache
from spinedlr.extract.executors import run_tasks
from spinedlr.extract.radiomics_task import extract_task
from spinedlr.extract.tables import FAILURE_SCHEMA, LONG_SCHEMA
from spinedlr.extract.tasks import RadiomicsTask, build_tasks
from spinedlr.manifest import load_manifest
from spinedlr.provenance import provenance, write_provenance


class ExtractionFailed(SpinedlrError):
    """Some tasks failed (the others completed and were written)."""


@dataclass
class ExtractSummary:
    """What a run did: counts, time, and the failures table."""

    n_tasks: int
    n_cached: int
    n_run: int
    n_failed: int
    seconds: float
    executor: str
    failures: pl.DataFrame

    def line(self) -> str:
        return (f"{self.n_tasks} task(s): {self.n_cached} from cache, {self.n_run} extracted, "
                f"{self.n_failed} failed in {self.seconds:.1f} s ({self.executor})")


DIAG_COLUMNS = {
    "voxel_count": "Mask-original_VoxelNum",
    "bounding_box": "Mask-original_BoundingBox",
    "image_size": "Image-original_Size",
    "image_spacing": "Image-original_Spacing",
    "pyradiomics": "Versions_PyRadiomics",
    "numpy": "Versions_Numpy",
    "simpleitk": "Versions_SimpleITK",
    "pywavelets": "Versions_PyWavelet",
}


def _diagnostics_row(task: RadiomicsTask, diag: dict, cached: bool, executor: str) -> dict:
    row = {
        "patient_id": task.patient_id, "roi": task.roi, "rater": task.rater,
        "labels": ",".join(map(str, task.labels)), "settings_hash": task.settings_hash,
        "cache_key": task.key, "from_cache": cached, "executor": executor,
        "seconds": diag.get("_seconds"), "cpu_seconds": diag.get("_cpu_seconds"),
        "peak_rss_mb": diag.get("_peak_rss_mb"),
        "worker_pid": diag.get("_pid"),
        "crop_to_roi": bool(task.params["setting"].get("preCrop", False)),
    }
    for col, key in DIAG_COLUMNS.items():
        row[col] = diag.get(key)
    row["voxel_count"] = int(row["voxel_count"]) if row["voxel_count"] is not None else None
    return row


def run(
    study: Study, *, workers: int | None = None, scheduler: str | None = None,
    keep_going: bool | None = None, rois: list[str] | None = None,
    patients: list[str] | None = None, show_progress: bool = True,
) -> ExtractSummary:
    """Extract PyRadiomics features for every (patient, ROI, rater) task of the study.

    Arguments left as None take their value from ``study.config.extract``. Finished tasks are
    read from the cache; failures are written to ``failures.parquet`` and, unless
    ``keep_going``, raised as ExtractionFailed after everything else has been written.
    """
    cfg = study.config.extract
    workers = cfg.workers if workers is None else workers
    scheduler = cfg.scheduler if scheduler is None else scheduler
    keep_going = cfg.keep_going if keep_going is None else keep_going
    start = time.perf_counter()

    tasks = build_tasks(study, load_manifest(study), rois=rois, patients=patients)
    outdir = study.output / "features"
    cache = TaskCache(outdir / "cache" / "radiomics")
    pending = [i for i, t in enumerate(tasks) if not cache.has(t.key)]
    pending_set = set(pending)
    fresh: dict[int, tuple[pl.DataFrame, dict]] = {}
    failures: list[dict] = []

    def on_result(j: int, result: dict) -> None:
        i = pending[j]
        task = tasks[i]
        if result["ok"]:
            diag = dict(result["diagnostics"], _seconds=result["seconds"],
                        _cpu_seconds=result["cpu_seconds"],
                        _peak_rss_mb=result["peak_rss_mb"], _pid=result["pid"])
            cache.put(task.key, result["features"], diag)
            fresh[i] = (pl.DataFrame(result["features"]), diag)
        else:
            failures.append({
                "patient_id": task.patient_id, "roi": task.roi, "rater": task.rater,
                "image": task.image, "mask": task.mask, "error_type": result["error_type"],
                "error": result["error"],
            })

    executor = run_tasks(
        [tasks[i] for i in pending], extract_task, on_result, workers=workers,
        scheduler=scheduler, description="radiomics", show_progress=show_progress,
    )

    parts, diag_rows = [], []
    for i, task in enumerate(tasks):
        if i in fresh:
            feats, diag = fresh[i]
            cached = False
        elif i not in pending_set:
            feats, diag = cache.get(task.key)
            cached = True
        else:
            continue  # failed
        parts.append(feats.select(
            pl.lit(task.patient_id).alias("patient_id"), pl.lit(task.roi).alias("roi"),
            pl.lit(task.rater).alias("rater"), pl.all(),
        ))
        diag_rows.append(_diagnostics_row(task, diag, cached, executor))

    long = pl.concat(parts).cast(LONG_SCHEMA) if parts else pl.DataFrame(schema=LONG_SCHEMA)
    failures_df = pl.DataFrame(failures, schema=FAILURE_SCHEMA)
    outdir.mkdir(parents=True, exist_ok=True)
    _write_parquet(long, outdir / "radiomics.parquet")
    _write_parquet(pl.DataFrame(diag_rows, infer_schema_length=None), outdir / "diagnostics.parquet")
    _write_parquet(failures_df, outdir / "failures.parquet")
    settings_hashes = sorted({t.settings_hash for t in tasks})
    write_provenance(outdir / "radiomics.provenance.json", provenance(
        study.config, "extract.radiomics",
        {"settings_hashes": settings_hashes, "executor": executor,
         "params": {t.roi: t.params for t in tasks}},
    ))

    summary = ExtractSummary(
        n_tasks=len(tasks), n_cached=len(tasks) - len(pending), n_run=len(pending) - len(failures),
        n_failed=len(failures), seconds=time.perf_counter() - start, executor=executor,
        failures=failures_df,
    )
    if failures and not keep_going:
        lines = [f"patient {f['patient_id']} ROI {f['roi']} ({f['rater']}): {f['error']}"
                 for f in failures[:10]]
        raise ExtractionFailed(
            f"{summary.line()}\n" + "\n".join(lines)
            + f"\nresults of the other tasks were written to {outdir}; fix the input and re-run "
            "(finished tasks are cached), or pass --keep-going"
        )
    return summary


def run_deep(study: Study, **kwargs):
    """Deep features, selection module and Grad-CAM (see extract/deep_stage.py)."""
    from spinedlr.extract.deep_stage import run_deep as _run_deep

    return _run_deep(study, **kwargs)


def _write_parquet(df: pl.DataFrame, path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_parquet(tmp)
    tmp.replace(path)
