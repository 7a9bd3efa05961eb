"""What a worker does for one task: read, build the ROI mask, run PyRadiomics, split the result.

Thread discipline: every task runs SimpleITK single-threaded. Parallelism comes from running
tasks side by side (processes or Dask workers); letting each task also spawn one ITK thread per
core oversubscribes the CPU, which is why PyRadiomics' own `-j 2` gives no speed-up on two
cores. Single-threaded filters are also what makes results identical whichever executor ran
them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import time
import traceback
from typing import Iterator

import numpy as np
import SimpleITK as sitk
from threadpoolctl import threadpool_limits

from spinedlr.errors import InputError
from spinedlr.extract.tasks import RadiomicsTask
from spinedlr.imaging import Geometry, read_image

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")

_EXTRACTORS: dict[str, object] = {}


def limit_threads() -> None:
    """One thread per task, for good: for worker processes that only run tasks."""
    for var in THREAD_ENV:
        os.environ[var] = "1"
    sitk.ProcessObject_SetGlobalDefaultNumberOfThreads(1)
    threadpool_limits(1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One thread per task while inside, restored after: for serial runs in the caller's
    process, whose later work (e.g. network training in `spinedlr run`) needs its threads."""
    saved_env = {v: os.environ.get(v) for v in THREAD_ENV}
    saved_itk = sitk.ProcessObject_GetGlobalDefaultNumberOfThreads()
    os.environ.update({v: "1" for v in THREAD_ENV})
    sitk.ProcessObject_SetGlobalDefaultNumberOfThreads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        sitk.ProcessObject_SetGlobalDefaultNumberOfThreads(saved_itk)
        for var, val in saved_env.items():
            if val is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = val


def _extractor(params: dict, key: str):
    """One RadiomicsFeatureExtractor per parameter set per process (construction parses YAML)."""
    import copy

    from radiomics.featureextractor import RadiomicsFeatureExtractor

    # importing radiomics sets its logger to WARNING; its warnings are not the user's problem
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = RadiomicsFeatureExtractor(copy.deepcopy(params))
    return _EXTRACTORS[key]


def roi_mask(image: sitk.Image, mask: sitk.Image, task: RadiomicsTask) -> sitk.Image:
    """The task's labels as a binary mask (label 1), on the image's geometry.

    Why binarise: PyRadiomics extracts one label value; a union of labels (the study's paraspinal
    muscle ROI) must become one value first. For a single label this is identical to passing
    ``label=k`` to PyRadiomics (the equality tests check that).
    """
    diff = Geometry.of(mask).mismatch(Geometry.of(image))
    if diff:
        raise InputError(
            f"patient {task.patient_id}: mask {task.mask} does not match image {task.image}: {diff}"
        )
    arr = sitk.GetArrayViewFromImage(mask)
    binary = np.isin(arr, np.asarray(task.labels)).astype(np.uint8)
    if not binary.any():
        raise InputError(
            f"patient {task.patient_id}: mask {task.mask} has no voxels with label(s) "
            f"{list(task.labels)} (ROI '{task.roi}', {task.rater})"
        )
    out = sitk.GetImageFromArray(binary)
    out.CopyInformation(mask)
    return out


def split_result(result: dict) -> tuple[dict[str, list], dict[str, str]]:
    """PyRadiomics' flat dict -> feature columns and diagnostics (as text).

    Keys look like ``wavelet-LLH_glcm_Idmn``: image type, feature class, feature. Image type
    names use '-' and feature names are CamelCase, so splitting on the first two '_' is exact.
    """
    cols: dict[str, list] = {"image_type": [], "feature_class": [], "feature": [], "value": []}
    diagnostics: dict[str, str] = {}
    for name, value in result.items():
        if name.startswith("diagnostics_"):
            diagnostics[name.removeprefix("diagnostics_")] = (
                json.dumps(value, default=str) if not isinstance(value, str) else value
            )
            continue
        image_type, feature_class, feature = name.split("_", 2)
        cols["image_type"].append(image_type)
        cols["feature_class"].append(feature_class)
        cols["feature"].append(feature)
        cols["value"].append(float(value))
    return cols, diagnostics


def extract_task(task: RadiomicsTask) -> dict:
    """Run one task; never raises: a failure comes back as a record with its reason.

    The caller sets the thread limits (pool initializer, Dask wrapper or serial context).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    out = {"index_key": task.key, "pid": os.getpid()}
    try:
        image = read_image(task.image, task.patient_id)
        mask = roi_mask(image, read_image(task.mask, task.patient_id), task)
        result = _extractor(task.params, task.settings_hash).execute(image, mask, label=1)
        features, diagnostics = split_result(result)
        out.update(ok=True, features=features, diagnostics=diagnostics)
    except Exception as err:  # one bad case must not sink the batch: report, don't raise
        detail = traceback.format_exc(limit=-3) if not isinstance(err, InputError) else ""
        out.update(ok=False, error_type=type(err).__name__, error=str(err) or repr(err),
                   traceback=detail)
    out["seconds"] = time.perf_counter() - start
    out["cpu_seconds"] = time.process_time() - cpu_start  # > seconds would mean extra threads
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out
