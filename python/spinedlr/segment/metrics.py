"""Dice and HD95 in millimetres, in 3D, per case and per label.

HD95 follows the common (MedPy / nnU-Net) definition: the 95th percentile of the pooled
distances from each surface voxel of one mask to the nearest surface voxel of the other, in
both directions. Distances come from a Euclidean distance transform with the volume's voxel
spacing, so anisotropic voxels (the 4 mm axial muscle slices) are measured correctly.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import ndimage

METRICS_SCHEMA = {
    "patient_id": pl.Utf8,
    "roi": pl.Utf8,
    "label": pl.Int64,
    "label_name": pl.Utf8,
    "dice": pl.Float64,
    "hd95_mm": pl.Float64,
}


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    denom = int(pred.sum()) + int(truth.sum())
    return 1.0 if denom == 0 else 2.0 * int((pred & truth).sum()) / denom


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=ndimage.generate_binary_structure(3, 1))


def hd95(pred: np.ndarray, truth: np.ndarray, spacing_zyx: tuple[float, float, float]) -> float:
    """95th-percentile symmetric surface distance in mm; NaN when either mask is empty."""
    if not pred.any() or not truth.any():
        return float("nan")
    sp, st = _surface(pred), _surface(truth)
    to_truth = ndimage.distance_transform_edt(~st, sampling=spacing_zyx)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=spacing_zyx)
    return float(np.percentile(np.concatenate([to_truth[sp], to_pred[st]]), 95))


def evaluate_case(
    patient_id: str,
    roi: str,
    pred: np.ndarray,
    truth: np.ndarray,
    labels: dict[int, str],
    spacing_xyz: tuple[float, ...],
) -> list[dict]:
    """One row per configured label (SimpleITK spacing order x, y, z; arrays z, y, x)."""
    spacing_zyx = tuple(float(s) for s in reversed(spacing_xyz))
    rows = []
    for value, name in sorted(labels.items()):
        p, t = pred == value, truth == value
        rows.append(
            {
                "patient_id": patient_id,
                "roi": roi,
                "label": int(value),
                "label_name": name,
                "dice": dice(p, t),
                "hd95_mm": hd95(p, t, spacing_zyx),
            }
        )
    return rows


def metrics_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
