"""Read every image and mask completely and check what the stages will rely on.

Why before any stage and why every voxel: a header check passes a half-copied ``.nii.gz``
(SimpleITK reads the missing part as zeros), a 2D slice in a 3D study, NaN voxels inside a
ROI or a probability map saved as a mask, and each of those gives features that are wrong
without any error. One task per (patient, ROI) runs on the extract stage's executors (in
parallel, with a progress bar); verdicts are cached under ``<output>/.cache/validate/`` by
the content hash of the files and the checks' settings, so a second ``validate`` or ``run``
only re-hashes the files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk

from spinedlr.errors import InputError
from spinedlr.extract.tasks import FileHasher
from spinedlr.imaging import Geometry, read_complete, read_image, stored_nonfinite
from spinedlr.outputs import write_text_atomic

CHECKS_VERSION = "1"  # bump when a check changes: verdicts of older checks are not reused
MAX_ABS_INTENSITY = 1e12
"""Largest |voxel value| accepted. MR, CT and PET values stay below 1e6; PyRadiomics sums
squares and cubes of them over up to ~1e8 voxels, which stays exact in float64 only for
values of this order, and values like 1e300 overflow to inf (a mis-scaled file)."""

Problem = tuple[str, str]  # (file as written in the manifest, what is wrong)


@dataclass(frozen=True)
class VolumeTask:
    """One patient's image and its raters' masks for one ROI, with what the ROI requires."""

    patient_id: str
    roi: str
    dim: str
    slice_axis: int
    min_slices: int
    labels: tuple[int, ...]
    image: tuple[str, str]  # (path as in the manifest, absolute path)
    masks: tuple[tuple[str, str, str], ...]  # (rater, path as in the manifest, absolute path)
    whole_image: bool = False  # the image is the region: no masks; a 2D image is fine for 2D
    key: str = ""


def _read(rel: str, path: str, what: str) -> tuple[sitk.Image | None, np.ndarray, Problem | None]:
    """The image, where its voxels are not finite, or the problem that stops its checks."""
    try:
        data = read_complete(path) if Path(path).exists() else b""
        image = read_image(path)
    except InputError as err:
        return None, np.empty(0), (rel, str(err))
    n = image.GetNumberOfComponentsPerPixel()
    if n > 1:
        return None, np.empty(0), (rel, f"{what} has {n} values per voxel (an RGB or vector "
                                   "image); a grey-level volume is needed")
    arr = sitk.GetArrayViewFromImage(image)
    stored = stored_nonfinite(data, arr.shape)
    nonfinite = ~np.isfinite(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    return image, nonfinite if stored is None else nonfinite | stored, None


def _image_problems(task: VolumeTask, image: sitk.Image, nonfinite: np.ndarray) -> list[Problem]:
    rel = task.image[0]
    size = " x ".join(map(str, image.GetSize()))
    flat_ok = task.whole_image and task.dim == "2D" and image.GetDimension() == 2
    if image.GetDimension() != 3 and not flat_ok:
        return [(rel, f"{image.GetDimension()}D image ({size}); ROI '{task.roi}' ({task.dim} "
                 "features) needs a 3D volume (a single slice as a volume of 1 slice)"
                 + ("" if task.dim == "3D" or not task.whole_image else " or a 2D image"))]
    problems = []
    n_slices = 1 if flat_ok else image.GetSize()[::-1][task.slice_axis]
    if n_slices < task.min_slices:
        problems.append((rel, f"{n_slices} slices along axis {task.slice_axis}, ROI "
                         f"'{task.roi}' needs at least {task.min_slices}"))
    if nonfinite.all():
        return [*problems, (rel, "no finite voxel: the image is all NaN or infinite")]
    if task.whole_image and nonfinite.any():  # the whole image is the region
        problems.append((rel, f"{int(nonfinite.sum())} NaN or infinite voxel(s) in a whole-image "
                         f"ROI ('{task.roi}'): features would be computed from wrong values"))
    arr = sitk.GetArrayViewFromImage(image)
    top = float(np.abs(arr[~nonfinite]).max())
    if top > MAX_ABS_INTENSITY:
        problems.append((rel, f"voxel values up to {top:.3g}, beyond any scanner's range "
                         f"(limit {MAX_ABS_INTENSITY:g}); check the file's intensity scaling"))
    return problems


def _mask_problems(task: VolumeTask, rater: str, rel: str, mask: sitk.Image,
                   image: sitk.Image, nonfinite: np.ndarray) -> list[Problem]:
    diff = Geometry.of(mask).mismatch(Geometry.of(image))
    if diff:
        return [(rel, f"mask geometry differs from image: {diff}")]
    arr = sitk.GetArrayViewFromImage(mask)
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not whole.all():
            example = arr[~whole].flat[0]
            return [(rel, f"mask holds non-integer values (e.g. {example:g}): a label mask "
                     "needs whole numbers 0, 1, 2, ...; threshold a probability map first")]
    labels = {int(x) for x in np.unique(arr)} - {0}
    if not labels:
        return [(rel, f"empty mask ({rater}, ROI '{task.roi}')")]
    unknown = labels - set(task.labels)
    if unknown:
        return [(rel, f"mask labels {sorted(unknown)} not in the config for ROI "
                 f"'{task.roi}' (allowed {sorted(task.labels)})")]
    bad = int(nonfinite[np.isin(arr, np.asarray(task.labels))].sum())
    if bad:
        return [(rel, f"{bad} NaN or infinite voxel(s) of {task.image[0]} inside this mask "
                 f"(ROI '{task.roi}'): features would be computed from wrong values")]
    return []


def check_volume_task(task: VolumeTask) -> dict:
    """Every problem of one (patient, ROI); never raises (a worker reports, the parent lists)."""
    image, nonfinite, problem = _read(*task.image, "image")
    if problem:
        return {"problems": [problem]}
    problems = _image_problems(task, image, nonfinite)
    if image.GetDimension() != 3 or task.whole_image:
        return {"problems": problems}
    for rater, rel, path in task.masks:
        mask, _, problem = _read(rel, path, f"{rater} mask")
        problems += [problem] if problem else _mask_problems(task, rater, rel, mask, image, nonfinite)
    return {"problems": problems}


class VerdictCache:
    """``<key>.json`` per checked task; an entry that does not read back is a miss."""

    def __init__(self, folder: Path, warn: Callable[[str], None]):
        self.folder, self.warn = folder, warn

    def get(self, key: str) -> list[Problem] | None:
        path = self.folder / f"{key}.json"
        if not key or not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            if data["version"] != CHECKS_VERSION:
                return None
            return [(str(w), str(p)) for w, p in data["problems"]]
        except (OSError, ValueError, KeyError, TypeError) as err:
            self.warn(f"validation cache entry {path.name} is unreadable "
                      f"({type(err).__name__}); checking those files again")
            return None

    def put(self, key: str, problems: list[Problem]) -> None:
        if not key:
            return
        try:
            write_text_atomic(self.folder / f"{key}.json",
                              json.dumps({"version": CHECKS_VERSION, "problems": problems}))
        except OSError:
            pass  # a read-only output folder: validating still works, only uncached


def task_key(task: VolumeTask, hasher: FileHasher) -> str:
    files = [task.image, *[(rel, path) for _, rel, path in task.masks]]
    hashes = [hasher(path) for _, path in files]
    if "missing" in hashes:
        return ""
    blob = json.dumps([CHECKS_VERSION, task.roi, task.dim, task.slice_axis, task.min_slices,
                       task.whole_image, task.labels, [r for r, _, _ in task.masks],
                       [rel for rel, _ in files], hashes])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
