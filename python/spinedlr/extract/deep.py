"""Deep features from the trained segmentation network: crop, resize, normalise, down4, GAP.

Per (patient, ROI, rater), as for the handcrafted features:
1. the ROI mask (configured labels; union or per label as the ROI says) and the slices along the
   ROI's slice axis that contain it;
2. per slice, the rectangular bounding box of the mask, widened by ``margin`` x box side on each
   side (at least one pixel), clipped to the image, cropped from the raw image;
3. resized to img_size x img_size (bilinear) and min-max normalised to [0, 1] per crop;
4. ``model.features_down4`` (activation of the fourth down-sampling block) and global average
   pooling over its spatial grid: 8 x base_channel values (512 at the paper preset);
5. one value per ROI: the slice with the largest mask area (study default) or the mean over all
   ROI slices (``aggregate: mean``).
Crops from many patients are stacked and run through the network in batches, in the study's
``segment.precision`` (see spinedlr.segment.precision); the pooled features are fp32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from spinedlr.segment.precision import autocast, resolve_precision

IMAGE_TYPE = "uctransnet"
FEATURE_CLASS = "down4_gap"


def feature_names(n: int) -> list[str]:
    return [f"down4_{j:03d}" for j in range(n)]


def bounding_box(mask2d: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """(r0, r1, c0, c1), end-exclusive: the mask's box widened by margin x side, clipped."""
    rows = np.flatnonzero(mask2d.any(axis=1))
    cols = np.flatnonzero(mask2d.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    dr = max(1, int(round(margin * (r1 - r0))))
    dc = max(1, int(round(margin * (c1 - c0))))
    h, w = mask2d.shape
    return max(0, r0 - dr), min(h, r1 + dr), max(0, c0 - dc), min(w, c1 + dc)


def crop_slice(
    image2d: np.ndarray, mask2d: np.ndarray, margin: float, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Network input (size x size, min-max normalised) and the mask resized the same way."""
    r0, r1, c0, c1 = bounding_box(mask2d, margin)
    img = torch.as_tensor(image2d[r0:r1, c0:c1], dtype=torch.float32)[None, None]
    msk = torch.as_tensor(mask2d[r0:r1, c0:c1], dtype=torch.float32)[None, None]
    img = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    msk = F.interpolate(msk, size=(size, size), mode="nearest")[0, 0]
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else torch.zeros_like(img)
    return img.numpy(), msk.numpy().astype(np.uint8)


def roi_slices(mask3d: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of slices (along ``axis``) that contain the ROI, and the ROI area of each."""
    other = tuple(a for a in range(3) if a != axis)
    areas = mask3d.sum(axis=other)
    idx = np.flatnonzero(areas)
    return idx, areas[idx]


def take(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    return np.take(volume, index, axis=axis)


@dataclass
class Crops:
    """Crops of one ROI unit: network inputs (n, size, size), resized masks, slice indices."""

    images: np.ndarray
    masks: np.ndarray
    slices: np.ndarray


def roi_crops(
    image3d: np.ndarray, mask3d: np.ndarray, axis: int, margin: float, size: int,
    aggregate: str,
) -> Crops:
    """Crops of the largest-area slice only ("largest") or of every ROI slice ("mean")."""
    idx, areas = roi_slices(mask3d, axis)
    if aggregate == "largest":
        idx = idx[[int(np.argmax(areas))]]  # first slice among equal largest areas
    pairs = [crop_slice(take(image3d, axis, i), take(mask3d, axis, i), margin, size) for i in idx]
    return Crops(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), idx)


def gap_features(
    model: torch.nn.Module, images: np.ndarray, batch_size: int, in_channels: int = 1,
    precision: str = "auto",
) -> np.ndarray:
    """GAP of ``model.features_down4`` for a stack of crops (n, size, size) -> (n, C)."""
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device)
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = torch.as_tensor(images[start:start + batch_size])[:, None].to(device)
            if in_channels > 1:  # the crop is one channel; multi-channel models get it repeated
                x = x.repeat(1, in_channels, 1, 1)
            with autocast(precision, device):
                feats = model.features_down4(x)
            out.append(feats.float().mean(dim=(2, 3)).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
