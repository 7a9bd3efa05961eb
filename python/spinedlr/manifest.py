"""The manifest (one row per patient; per disc and sequence for a grading study) and its
validation.

Validation collects every problem instead of stopping at the first: a researcher with 170
patients wants the whole list of what to fix in one pass. Each problem names the patient,
the column or file, and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import polars as pl

from spinedlr.config import CovariateType, Roi, Study
from spinedlr.design.support import per_unit_multiclass
from spinedlr.errors import ManifestError
from spinedlr.extract.tasks import FileHasher
from spinedlr.grading.validate import check_grading_rows
from spinedlr.outputs import identifier_problem
from spinedlr.volume_checks import VerdictCache, VolumeTask, check_volume_task, task_key

PROBLEM_SCHEMA = {"patient_id": pl.Utf8, "where": pl.Utf8, "problem": pl.Utf8}


@dataclass
class Validation:
    """Outcome of validating a study: problems found, and the usable manifest."""

    manifest: pl.DataFrame
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    dropped_incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    """(patient, ROI, image name) of optional images whose manifest cell is empty."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, patient: str, where: str, problem: str) -> None:
        self.problems.append((patient, where, problem))

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(self.problems, schema=PROBLEM_SCHEMA, orient="row")


def read_manifest(path: Path, patient_id: str = "patient_id") -> pl.DataFrame:
    """Read a CSV or Parquet manifest; the patient id column is always read as text."""
    if not path.exists():
        raise ManifestError(f"{path}: manifest not found")
    try:
        if path.suffix.lower() == ".parquet":
            df = pl.read_parquet(path)
        else:
            df = pl.read_csv(path, schema_overrides={patient_id: pl.Utf8}, infer_schema_length=None)
    except Exception as err:  # polars raises several error types for malformed files
        raise ManifestError(f"{path}: cannot read manifest ({err.__class__.__name__}: {err})") from None
    if patient_id in df.columns:
        df = df.with_columns(pl.col(patient_id).cast(pl.Utf8))
    return df


def _check_columns(study: Study, df: pl.DataFrame, v: Validation) -> bool:
    cfg = study.config
    needed = [cfg.patient_id, *([cfg.outcome] if study.has_outcome else [])]
    needed += [c.name for c in cfg.covariates]
    for roi in cfg.rois:
        needed += [col for _, col, _ in roi.image_columns()] + list(roi.masks.values())
    missing = [c for c in needed if c not in df.columns]
    for c in missing:
        v.add("-", c, f"missing column '{c}' in {study.manifest_path.name}")
    return not missing


def _check_ids_and_outcome(study: Study, df: pl.DataFrame, v: Validation) -> None:
    cfg = study.config
    ids = df[cfg.patient_id]
    for pid in ids.filter(ids.is_duplicated()).unique(maintain_order=True).to_list():
        v.add(str(pid), cfg.patient_id, "duplicate patient_id")
    for pid in df.filter(pl.col(cfg.patient_id).is_null() | (pl.col(cfg.patient_id) == ""))[
        cfg.patient_id
    ].to_list():
        v.add("-", cfg.patient_id, "empty patient_id")
    for pid in ids.drop_nulls().filter(ids.drop_nulls() != "").unique(maintain_order=True).to_list():
        problem = identifier_problem(pid)
        if problem:  # IDs name output files (masks/<roi>/<patient>.nii.gz)
            v.add(str(pid), cfg.patient_id, f"patient_id {problem}")
    if not study.has_outcome:
        return
    outcome = df[cfg.outcome]
    bad = df.filter(~outcome.cast(pl.Utf8).is_in(["0", "1"]) | outcome.is_null())
    for pid, val in zip(bad[cfg.patient_id].to_list(), bad[cfg.outcome].to_list()):
        v.add(str(pid), cfg.outcome, f"outcome must be 0 or 1, got {val!r}")
    good = outcome.cast(pl.Utf8).filter(outcome.cast(pl.Utf8).is_in(["0", "1"])).unique()
    if len(good) == 1:
        v.add("-", cfg.outcome, f"outcome has only one class ({good[0]}): nothing to predict")


def _check_numbers(pid_col: str, df: pl.DataFrame, name: str, v: Validation) -> None:
    """A continuous covariate must hold finite numbers (the CSV reader keeps 'abc' as text)."""
    values = df[name]
    numbers = values.cast(pl.Float64, strict=False)
    bad = df.filter(values.is_not_null() & (numbers.is_null() | ~numbers.is_finite()))
    for pid, val in zip(bad[pid_col].to_list(), bad[name].to_list()):
        v.add(str(pid), name, f"value {val!r} is not a finite number (continuous covariate)")


def _check_covariates(study: Study, df: pl.DataFrame, v: Validation, complete_case: bool) -> pl.DataFrame:
    cfg = study.config
    names = [c.name for c in cfg.covariates]
    if not names:
        return df
    incomplete = df.filter(pl.any_horizontal(pl.col(n).is_null() for n in names))
    if incomplete.height:
        if complete_case:
            v.dropped_incomplete = incomplete[cfg.patient_id].to_list()
            df = df.filter(~pl.col(cfg.patient_id).is_in(v.dropped_incomplete))
        else:
            for row in incomplete.iter_rows(named=True):
                cols = [n for n in names if row[n] is None]
                v.add(str(row[cfg.patient_id]), ", ".join(cols), "missing covariate value "
                      "(use --complete-case to drop such patients)")
    for cov in cfg.covariates:
        if cov.type == CovariateType.continuous:
            _check_numbers(cfg.patient_id, df, cov.name, v)
        if cov.levels is None:
            continue
        allowed = {str(x) for x in cov.levels}
        vals = df[cov.name].cast(pl.Utf8)
        bad = df.filter(vals.is_not_null() & ~vals.is_in(list(allowed)))
        for pid, val in zip(bad[cfg.patient_id].to_list(), bad[cov.name].to_list()):
            v.add(str(pid), cov.name, f"value {val!r} not among levels {sorted(allowed)}")
    return df


def _empty(cell: object) -> bool:
    return cell is None or str(cell) == ""


def _volume_tasks(study: Study, df: pl.DataFrame, v: Validation) -> list[VolumeTask]:
    """One task per (patient, ROI, image); rows with no path are problems right away.

    An empty cell of an optional image (``required: false``) is no problem: the image is
    skipped for that patient and recorded in ``v.skipped``; an optional main image skips the
    patient's whole ROI.
    """
    tasks = []
    for row in df.iter_rows(named=True):
        pid = str(row[study.config.patient_id])
        for roi in study.config.rois:
            if _empty(row[roi.image]) and not roi.required:
                v.skipped.append((pid, roi.name, roi.image_name))
                continue
            if _empty(row[roi.image]):
                v.add(pid, roi.image, "no image path")
                continue
            masks = _mask_paths(study, roi, row, pid, v)
            for name, col, required in roi.image_columns():
                if _empty(row[col]):
                    if required:
                        v.add(pid, col, "no image path")
                    else:
                        v.skipped.append((pid, roi.name, name))
                    continue
                tasks.append(VolumeTask(
                    pid, roi.name, roi.dim, roi.slice_axis, roi.min_slices,
                    tuple(sorted(roi.labels)), (str(row[col]), str(study.resolve_data(row[col]))),
                    masks, whole_image=roi.whole_image))
    if v.skipped:
        v.notes.append(f"{len(v.skipped)} optional image(s) absent and skipped "
                       f"({', '.join(sorted({f'{r}/{n}' for _, r, n in v.skipped}))})")
    return tasks


def _mask_paths(study: Study, roi: Roi, row: dict, pid: str,
                v: Validation) -> tuple[tuple[str, str, str], ...]:
    """(rater, path as in the manifest, absolute path) of every rater's mask in one row."""
    masks = []
    for rater, col in roi.masks.items():
        if row[col] is None:
            v.add(pid, col, f"no mask path for {rater}")
        else:
            masks.append((rater, str(row[col]), str(study.resolve_data(row[col]))))
    return tuple(masks)


def _check_files(study: Study, df: pl.DataFrame, v: Validation, workers: int,
                 show_progress: bool) -> None:
    """Read every image and mask completely (in parallel; verdicts cached by content)."""
    from spinedlr.extract.executors import run_tasks

    cache = VerdictCache(study.paths.validate_cache, v.notes.append)
    hasher = FileHasher()
    tasks = [replace(t, key=task_key(t, hasher)) for t in _volume_tasks(study, df, v)]
    verdicts = {i: cache.get(t.key) for i, t in enumerate(tasks)}
    pending = [i for i, found in verdicts.items() if found is None]

    def on_result(j: int, result: dict) -> None:
        i = pending[j]
        if "problems" in result:
            verdicts[i] = [tuple(p) for p in result["problems"]]
            cache.put(tasks[i].key, verdicts[i])
        else:  # the worker process itself died
            verdicts[i] = [(tasks[i].image[0], f"could not be checked: {result['error']}")]

    run_tasks([tasks[i] for i in pending], check_volume_task, on_result, workers=workers,
              description="checking images", show_progress=show_progress)
    for i, task in enumerate(tasks):
        for where, problem in verdicts[i]:
            v.add(task.patient_id, where, problem)


def validate_study(
    study: Study, complete_case: bool = False, check_files: bool = True,
    workers: int | None = None, show_progress: bool = False,
) -> Validation:
    """Check the manifest against the config; return every problem and the usable rows.

    ``check_files`` reads every image and mask completely (see spinedlr.volume_checks), with
    ``workers`` processes (default: ``runtime.workers``).
    """
    df = read_manifest(study.manifest_path, study.config.patient_id)
    v = Validation(manifest=df)
    if df.height == 0:
        v.add("-", study.manifest_path.name, "no patients: the manifest has a header but no rows")
        return v
    if not _check_columns(study, df, v):
        return v
    if per_unit_multiclass(study.config.design):  # one row per disc and sequence
        check_grading_rows(study, df, v)
    else:
        _check_ids_and_outcome(study, df, v)
    df = _check_covariates(study, df, v, complete_case)
    v.manifest = df
    if check_files:
        workers = study.config.runtime.workers if workers is None else workers
        _check_files(study, df, v, workers, show_progress)
    return v


def require_valid(study: Study, workers: int | None = None, show_progress: bool = True,
                  warn: Callable[[str], None] = lambda _: None) -> pl.DataFrame:
    """What ``run`` and the image-reading stages call first: every file checked, or a
    ManifestError with one line per problem, before any stage writes anything."""
    v = validate_study(study, check_files=True, workers=workers, show_progress=show_progress)
    for note in v.notes:
        warn(note)
    if not v.ok:
        raise ManifestError(_problem_lines(v))
    return v.manifest


def _problem_lines(v: Validation, limit: int = 20) -> str:
    lines = [f"patient {p}: {w}: {msg}" for p, w, msg in v.problems[:limit]]
    if len(v.problems) > limit:
        lines.append(f"... and {len(v.problems) - limit} more (run `spinedlr validate`)")
    return f"{len(v.problems)} problem(s) in the study's inputs:\n" + "\n".join(lines)


def load_manifest(study: Study, complete_case: bool = False) -> pl.DataFrame:
    """The validated manifest, or ManifestError listing the problems (what stages call)."""
    v = validate_study(study, complete_case=complete_case, check_files=False)
    if not v.ok:
        raise ManifestError(_problem_lines(v))
    if not study.has_outcome:
        return v.manifest
    return v.manifest.with_columns(pl.col(study.config.outcome).cast(pl.Int64))
