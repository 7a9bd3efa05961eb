"""The extract stage: `run(study)` for handcrafted features (deep ones: extract/deep_stage.py).

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
from pathlib import Path

import polars as pl

from spinedlr.cli_support import console  # stderr; silent under -q
from spinedlr.config import Study
from spinedlr.errors import Interrupted
from spinedlr.extract.cache import TaskCache
from spinedlr.extract.executors import run_tasks
from spinedlr.extract.radiomics_task import extract_task
from spinedlr.extract.tables import FAILURE_SCHEMA, ID_COLUMNS, LONG_SCHEMA, ExtractionFailed
from spinedlr.extract.tasks import RadiomicsTask, build_tasks, roi_units
from spinedlr.manifest import load_manifest
from spinedlr.outputs import staged, write_atomic
from spinedlr.paths import FEATURES, RADIOMICS
from spinedlr.provenance import provenance, write_provenance
from spinedlr.stage_contract import StageContext, StageResult, StageSpec



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
    study: Study, *, rois: list[str] | None = None, patients: list[str] | None = None,
    show_progress: bool = True,
) -> ExtractSummary:
    """Extract PyRadiomics features for every (patient, ROI, rater) task of the study.

    Processes, scheduler and keep-going come from ``study.config.runtime``. Finished tasks are
    read from the cache (a damaged entry is extracted again); failures are written to
    ``failures.parquet`` and, unless ``keep_going``, raised as ExtractionFailed after
    everything else has been written. A run limited to some ROIs or patients merges its rows
    into the existing tables instead of replacing them; the tables are written as one set.
    """
    runtime = study.config.runtime
    start = time.perf_counter()

    manifest = load_manifest(study)
    tasks = build_tasks(study, manifest, rois=rois, patients=patients)
    cache = TaskCache(study.paths.radiomics_cache)
    results = _from_cache(tasks, cache)
    pending = [i for i in range(len(tasks)) if i not in results]
    failures: list[dict] = []

    def on_result(j: int, result: dict) -> None:
        i = pending[j]
        task = tasks[i]
        if result["ok"]:
            diag = dict(result["diagnostics"], _seconds=result["seconds"],
                        _cpu_seconds=result["cpu_seconds"],
                        _peak_rss_mb=result["peak_rss_mb"], _pid=result["pid"])
            cache.put(task.key, result["features"], diag)
            results[i] = (pl.DataFrame(result["features"]), diag, False)
        else:
            failures.append({
                "patient_id": task.patient_id, "roi": task.roi, "rater": task.rater,
                "image": task.image, "mask": task.mask, "error_type": result["error_type"],
                "error": result["error"],
            })

    try:
        executor = run_tasks(
            [tasks[i] for i in pending], extract_task, on_result, workers=runtime.workers,
            scheduler=runtime.scheduler, description="radiomics", show_progress=show_progress,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            f"{len(results)} of {len(tasks)} task(s) finished and are cached in {cache.folder}, "
            "the feature tables were not touched") from None

    long, diagnostics = _tables(tasks, results, executor)
    failures_df = pl.DataFrame(failures, schema=FAILURE_SCHEMA)
    if rois is not None or patients is not None:
        covered = pl.DataFrame([(t.patient_id, t.roi, t.rater) for t in tasks],
                               schema=list(ID_COLUMNS), orient="row")
        order = _task_order(study, manifest)
        long, diagnostics, failures_df = (
            _merge(study.paths.feature_table(name), new, covered, order)
            for name, new in (("radiomics", long), ("diagnostics", diagnostics),
                              ("failures", failures_df)))
    settings_hashes = sorted({t.settings_hash for t in tasks})
    with staged(study.output) as work:
        paths = study.paths.under(work)
        write_atomic(paths.radiomics, long.write_parquet)
        write_atomic(paths.feature_table("diagnostics"), diagnostics.write_parquet)
        write_atomic(paths.feature_table("failures"), failures_df.write_parquet)
        write_provenance(paths.at(FEATURES, "radiomics.provenance.json"), provenance(
            study.config, "extract.radiomics",
            {"settings_hashes": settings_hashes, "executor": executor,
             "params": {t.roi: t.params for t in tasks}},
        ))

    summary = ExtractSummary(
        n_tasks=len(tasks), n_cached=sum(c for _, _, c in results.values()),
        n_run=sum(not c for _, _, c in results.values()), n_failed=len(failures),
        seconds=time.perf_counter() - start, executor=executor, failures=failures_df,
    )
    if failures and not runtime.keep_going:
        lines = [f"patient {f['patient_id']} ROI {f['roi']} ({f['rater']}): {f['error']}"
                 for f in failures[:10]]
        raise ExtractionFailed(
            f"{summary.line()}\n" + "\n".join(lines)
            + f"\nresults of the other tasks were written to {study.paths.features}; fix the input and re-run "
            "(finished tasks are cached), or pass --keep-going"
        )
    return summary


Results = dict[int, tuple[pl.DataFrame, dict, bool]]
"""Task index -> (features, diagnostics, whether read from the cache)."""


def _from_cache(tasks: list[RadiomicsTask], cache: TaskCache) -> Results:
    """The tasks whose results are cached (a damaged entry is announced and extracted again)."""
    results: Results = {}
    for i, task in enumerate(tasks):
        entry, damaged = cache.load(task.key)
        if entry:
            results[i] = (*entry, True)
        elif damaged:
            console.print(f"[yellow]cache entry of patient {task.patient_id} ROI {task.roi} "
                          f"({task.rater}) is damaged ({damaged}); extracting it again[/]",
                          highlight=False)
    return results


def _tables(tasks: list[RadiomicsTask], results: Results, executor: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The long feature table and the diagnostics table of the tasks that succeeded, in task order."""
    parts, diag_rows = [], []
    for i, task in enumerate(tasks):
        if i not in results:
            continue  # failed
        feats, diag, cached = results[i]
        parts.append(feats.select(
            pl.lit(task.patient_id).alias("patient_id"), pl.lit(task.roi).alias("roi"),
            pl.lit(task.rater).alias("rater"), pl.all(),
        ))
        diag_rows.append(_diagnostics_row(task, diag, cached, executor))
    long = pl.concat(parts).cast(LONG_SCHEMA) if parts else pl.DataFrame(schema=LONG_SCHEMA)
    return long, pl.DataFrame(diag_rows, infer_schema_length=None)


def _task_order(study: Study, manifest: pl.DataFrame) -> pl.DataFrame:
    """Rank of every (patient, ROI unit, rater) in a full run's order (manifest, ROI, rater)."""
    cfg = study.config
    rows = [(str(pid), unit, rater)
            for pid in manifest[cfg.patient_id].to_list()
            for roi in cfg.rois for rater in roi.masks for unit, _ in roi_units(roi)]
    return pl.DataFrame(rows, schema=list(ID_COLUMNS), orient="row").with_row_index("_rank")


def _merge(path: Path, new: pl.DataFrame, covered: pl.DataFrame, order: pl.DataFrame) -> pl.DataFrame:
    """The existing table without the rows this run redid, plus the new rows, in full-run order
    (a partial run followed by nothing else gives the table a full run would have written)."""
    if not path.exists():
        return new
    try:
        old = pl.read_parquet(path)
        kept = old.join(covered, on=list(ID_COLUMNS), how="anti")
        merged = pl.concat([kept, new], how="diagonal_relaxed") if new.height else kept
    except Exception as err:  # a damaged table is rebuilt from this run's rows alone
        console.print(f"[yellow]{path.name} is unreadable ({type(err).__name__}); rewritten with "
                      "this run's rows only[/]", highlight=False)
        return new
    ranked = merged.join(order, on=list(ID_COLUMNS), how="left")
    return ranked.sort("_rank", nulls_last=True, maintain_order=True).drop("_rank")


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    summary = run(study, show_progress=ctx.show_progress)
    return StageResult(SPEC.name, {n: study.output / n for n in SPEC.outputs}, summary.line(), summary)


SPEC = StageSpec(
    name="extract",
    settings=("extract",),
    settings_exclude=("extract.deep", "extract.deep_selection"),  # the deep stage's
    upstream=(),
    outputs=(RADIOMICS, f"{FEATURES}/diagnostics.parquet", f"{FEATURES}/failures.parquet",
             f"{FEATURES}/radiomics.provenance.json"),
    run=_run_stage,
    reads_images=True,
    fixed_split=None,  # upstream of the fusion stage too
    description="PyRadiomics features of every (patient, ROI, rater)",
)
