"""Network input from a patient's volume: crop to the ROI, z-score, resize to the preset cube.

Why crop first: a lumbar CT or MRI is mostly anatomy other than the structure of interest,
and resizing the whole field of view to 64³ or 128³ would leave the ROI a few voxels wide.
Cropping to the ROI's bounding box (plus ``margin`` voxels) puts the structure's texture in
the input, as Zou et al. feed their segmented regions. Why z-score within the crop: CT is in
Hounsfield units and MRI in arbitrary scanner units; per-crop mean 0 / SD 1 is the paper's
"normalised to a mean of 0 ± 1" and makes centres and modalities comparable. Statistics are
taken over the crop's original voxels, before interpolation (which smooths the SD down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from spinedlr.errors import InputError


@dataclass(frozen=True)
class Volume:
    """One patient's image (z, y, x) or (channels, z, y, x) and an optional ROI mask (z, y, x)."""

    patient_id: str
    image: np.ndarray
    mask: np.ndarray | None = None


def roi_box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Bounding box of ``mask > 0`` widened by ``margin`` voxels, clipped to the volume."""
    idx = np.nonzero(mask > 0)
    return tuple(slice(max(0, int(i.min()) - margin), min(n, int(i.max()) + 1 + margin))
                 for i, n in zip(idx, mask.shape))


def prepare(volume: Volume, size: int, margin: int) -> torch.Tensor:
    """The (channels, size, size, size) float32 input for one patient (see module docstring)."""
    img = np.asarray(volume.image, dtype=np.float32)
    img = img[None] if img.ndim == 3 else img
    if img.ndim != 4:
        raise InputError(f"patient {volume.patient_id}: image must be 3D (or channels + 3D), got {img.shape}")
    if volume.mask is not None:
        if volume.mask.shape != img.shape[1:]:
            raise InputError(f"patient {volume.patient_id}: mask {volume.mask.shape} does not match image {img.shape[1:]}")
        if not (volume.mask > 0).any():
            raise InputError(f"patient {volume.patient_id}: empty ROI mask")
        img = img[(slice(None), *roi_box(volume.mask, margin))]
    mean = img.mean(axis=(1, 2, 3), keepdims=True)
    sd = img.std(axis=(1, 2, 3), keepdims=True)
    img = (img - mean) / np.where(sd > 0, sd, 1.0)
    x = torch.from_numpy(np.ascontiguousarray(img))[None]
    return F.interpolate(x, size=(size,) * 3, mode="trilinear", align_corners=False)[0]


def stack(volumes: list[Volume], size: int, margin: int) -> torch.Tensor:
    """All patients' inputs as one (n, channels, size, size, size) tensor."""
    if not volumes:
        raise InputError("no volumes given")
    xs = [prepare(v, size, margin) for v in volumes]
    if len({x.shape[0] for x in xs}) > 1:
        raise InputError("volumes differ in their channel count")
    return torch.stack(xs)
