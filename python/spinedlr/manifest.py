"""The manifest (one row per patient) and its validation.

Validation collects every problem instead of stopping at the first: a researcher with 170
patients wants the whole list of what to fix in one pass. Each problem names the patient,
the column or file, and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import SimpleITK as sitk

from spinedlr.config import Study
from spinedlr.errors import InputError, ManifestError
from spinedlr.imaging import Geometry, read_header, read_image

PROBLEM_SCHEMA = {"patient_id": pl.Utf8, "where": pl.Utf8, "problem": pl.Utf8}


@dataclass
class Validation:
    """Outcome of validating a study: problems found, and the usable manifest."""

    manifest: pl.DataFrame
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    dropped_incomplete: list[str] = field(default_factory=list)

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
    needed = [cfg.patient_id, cfg.outcome]
    needed += [c.name for c in cfg.covariates]
    for roi in cfg.rois:
        needed += [roi.image, *roi.masks.values()]
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
    outcome = df[cfg.outcome]
    bad = df.filter(~outcome.cast(pl.Utf8).is_in(["0", "1"]) | outcome.is_null())
    for pid, val in zip(bad[cfg.patient_id].to_list(), bad[cfg.outcome].to_list()):
        v.add(str(pid), cfg.outcome, f"outcome must be 0 or 1, got {val!r}")
    good = outcome.cast(pl.Utf8).filter(outcome.cast(pl.Utf8).is_in(["0", "1"])).unique()
    if len(good) == 1:
        v.add("-", cfg.outcome, f"outcome has only one class ({good[0]}): nothing to predict")


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
        if cov.levels is None:
            continue
        allowed = {str(x) for x in cov.levels}
        vals = df[cov.name].cast(pl.Utf8)
        bad = df.filter(vals.is_not_null() & ~vals.is_in(list(allowed)))
        for pid, val in zip(bad[cfg.patient_id].to_list(), bad[cov.name].to_list()):
            v.add(str(pid), cov.name, f"value {val!r} not among levels {sorted(allowed)}")
    return df


def _check_files(study: Study, df: pl.DataFrame, v: Validation) -> None:
    cfg = study.config
    for row in df.iter_rows(named=True):
        pid = str(row[cfg.patient_id])
        for roi in cfg.rois:
            img_rel = row[roi.image]
            if img_rel is None:
                v.add(pid, roi.image, "no image path")
                continue
            img_path = study.resolve(img_rel)
            try:
                geo = read_header(img_path)
            except InputError as err:
                v.add(pid, str(img_rel), str(err))
                continue
            n_slices = geo.size[::-1][roi.slice_axis]
            if n_slices < roi.min_slices:
                v.add(pid, str(img_rel), f"{n_slices} slices along axis {roi.slice_axis}, ROI "
                      f"'{roi.name}' needs at least {roi.min_slices}")
            for rater, col in roi.masks.items():
                _check_mask(study, roi, pid, rater, row[col], geo, v)


def _check_mask(study, roi, pid: str, rater: str, rel, geo: Geometry, v: Validation) -> None:
    if rel is None:
        v.add(pid, roi.masks[rater], f"no mask path for {rater}")
        return
    try:
        mask = read_image(study.resolve(rel))
    except InputError as err:
        v.add(pid, str(rel), str(err))
        return
    diff = Geometry.of(mask).mismatch(geo)
    if diff:
        v.add(pid, str(rel), f"mask geometry differs from image: {diff}")
        return
    arr = sitk.GetArrayViewFromImage(mask)
    labels = {int(x) for x in np.unique(arr)} - {0}
    if not labels:
        v.add(pid, str(rel), f"empty mask ({rater}, ROI '{roi.name}')")
        return
    unknown = labels - set(roi.labels)
    if unknown:
        v.add(pid, str(rel), f"mask labels {sorted(unknown)} not in the config for ROI "
              f"'{roi.name}' (allowed {sorted(roi.labels)})")


def validate_study(study: Study, complete_case: bool = False, check_files: bool = True) -> Validation:
    """Check the manifest against the config; return every problem and the usable rows."""
    df = read_manifest(study.manifest_path, study.config.patient_id)
    v = Validation(manifest=df)
    if not _check_columns(study, df, v):
        return v
    _check_ids_and_outcome(study, df, v)
    df = _check_covariates(study, df, v, complete_case)
    v.manifest = df
    if check_files:
        _check_files(study, df, v)
    return v


def load_manifest(study: Study, complete_case: bool = False) -> pl.DataFrame:
    """The validated manifest, or ManifestError listing the problems (what stages call)."""
    v = validate_study(study, complete_case=complete_case, check_files=False)
    if not v.ok:
        lines = [f"patient {p}: {w}: {msg}" for p, w, msg in v.problems[:20]]
        more = len(v.problems) - 20
        if more > 0:
            lines.append(f"... and {more} more (run `spinedlr validate`)")
        raise ManifestError("invalid manifest:\n" + "\n".join(lines))
    return v.manifest.with_columns(pl.col(study.config.outcome).cast(pl.Int64))
