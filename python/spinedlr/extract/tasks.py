"""Extraction tasks: one per (patient, ROI, rater) — or per label when an ROI says combine="each".

Why tasks are plain frozen dataclasses with absolute paths and the full parameter dict: they
are shipped as-is to local worker processes or to Dask workers on other machines, so they must
pickle cheaply and carry everything a worker needs, with nothing read from the study folder's
relative paths on the far side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import metadata

import polars as pl

from spinedlr.config import Roi, Study
from spinedlr.extract.params import effective_params, params_hash


@dataclass(frozen=True, eq=False)
class RadiomicsTask:
    """Everything one worker needs to extract one ROI of one patient for one rater.

    ``roi`` is the name written to the feature table: the ROI's name for combine="union",
    ``"<roi>:<label name>"`` (e.g. ``muscle:psoas_left``) for combine="each".
    """

    patient_id: str
    roi: str
    rater: str
    image: str
    mask: str
    labels: tuple[int, ...]
    params: dict = field(repr=False)
    settings_hash: str = ""
    key: str = ""


def roi_units(roi: Roi) -> list[tuple[str, tuple[int, ...]]]:
    """(table ROI name, mask labels) pairs: one union, or one per label for combine="each"."""
    labels = tuple(sorted(roi.labels))
    if roi.combine == "union":
        return [(roi.name, labels)]
    return [(f"{roi.name}:{roi.labels[lab]}", (lab,)) for lab in labels]


class FileHasher:
    """SHA-256 of file bytes, memoised: one image is shared by many tasks (ROIs, raters)."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if path not in self._seen:
            h = hashlib.sha256()
            try:
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                self._seen[path] = h.hexdigest()
            except OSError:
                # unreadable file: the task will fail with a clear message; never cache it
                self._seen[path] = "missing"
        return self._seen[path]


def task_key(image_hash: str, mask_hash: str, labels: tuple[int, ...], settings_hash: str) -> str:
    """Cache key: image bytes, mask bytes, labels, parameters and the PyRadiomics version."""
    blob = "|".join(
        [image_hash, mask_hash, ",".join(map(str, labels)), settings_hash,
         metadata.version("pyradiomics-bhklab")]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def build_tasks(
    study: Study, manifest: pl.DataFrame, rois: list[str] | None = None,
    patients: list[str] | None = None,
) -> list[RadiomicsTask]:
    """All tasks of a study in a fixed order (manifest row, ROI, rater, label)."""
    cfg = study.config
    hasher = FileHasher()
    params_by_roi = {
        r.name: effective_params(cfg.extract, study.root, r.dim, r.slice_axis) for r in cfg.rois
    }
    tasks: list[RadiomicsTask] = []
    for row in manifest.iter_rows(named=True):
        pid = str(row[cfg.patient_id])
        if patients is not None and pid not in patients:
            continue
        for roi in cfg.rois:
            if rois is not None and roi.name not in rois:
                continue
            params = params_by_roi[roi.name]
            shash = params_hash(params)
            image = str(study.resolve_data(row[roi.image]))
            for rater, col in roi.masks.items():
                mask = str(study.resolve_data(row[col]))
                for name, labels in roi_units(roi):
                    key = task_key(hasher(image), hasher(mask), labels, shash)
                    if "missing" in (hasher(image), hasher(mask)):
                        key = ""
                    tasks.append(
                        RadiomicsTask(pid, name, rater, image, mask, labels, params, shash, key)
                    )
    return tasks
