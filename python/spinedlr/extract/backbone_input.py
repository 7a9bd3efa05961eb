"""From a unit's image and region to a pretrained backbone's input batch.

Why its own module: ImageNet networks expect a fixed-size, three-channel, ImageNet-normalised
picture, while a study has grey volumes of any size with a mask (or none: a whole-image crop).
The choices made here (which slice, what crop, how scaled) change every feature value, so
they are few, documented and set in the config (``extract.extractors`` backbone entries):

- region: a masked ROI is cropped to its mask's bounding box widened by ``margin`` x side
  (2D networks: on the slice with the largest mask area along the ROI's slice axis; 3D: the
  3D box); a whole-image ROI uses the whole image (2D networks on a volume: its middle slice);
- size: resized to ``input_size`` per side (bilinear / trilinear);
- scale: ``imagenet`` = min-max to [0, 1], then the ImageNet mean/std of each RGB channel;
  ``minmax`` = [0, 1]; ``zscore`` = mean 0, sd 1 per crop;
- channels: the grey crop replicated to 3 channels (ImageNet networks) or kept as 1.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from spinedlr.extract.deep import bounding_box, roi_slices, take

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _box3d(mask: np.ndarray, margin: float) -> tuple[slice, ...]:
    """The mask's 3D bounding box widened by margin x side on each side, clipped."""
    out = []
    for axis in range(3):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        lo, hi = int(hits[0]), int(hits[-1]) + 1
        pad = max(1, int(round(margin * (hi - lo))))
        out.append(slice(max(0, lo - pad), min(mask.shape[axis], hi + pad)))
    return tuple(out)


def region_crop(image: np.ndarray, mask: np.ndarray | None, dims: int, slice_axis: int,
                margin: float) -> np.ndarray:
    """The part of the image a ``dims``-D network sees (2D or 3D array)."""
    if image.ndim == 2:
        image = image[None]
        mask = None if mask is None else mask[None]
        slice_axis = 0
    if mask is None:
        if dims == 3:
            return image
        return take(image, slice_axis, image.shape[slice_axis] // 2)
    if dims == 3:
        return image[_box3d(mask, margin)]
    idx, areas = roi_slices(mask, slice_axis)
    best = int(idx[int(np.argmax(areas))])
    plane, region = take(image, slice_axis, best), take(mask, slice_axis, best)
    r0, r1, c0, c1 = bounding_box(region, margin)
    return plane[r0:r1, c0:c1]


def prepare_batch(crops: list[np.ndarray], size: int, channels: int,
                  normalize: str) -> torch.Tensor:
    """Crops (all 2D or all 3D) -> (n, channels, size, size[, size]) float32 tensor."""
    out = []
    for crop in crops:
        x = torch.as_tensor(np.ascontiguousarray(crop), dtype=torch.float32)[None, None]
        mode = "bilinear" if crop.ndim == 2 else "trilinear"
        x = F.interpolate(x, size=(size,) * crop.ndim, mode=mode, align_corners=False)[0]
        if normalize == "zscore":
            sd = x.std()
            x = (x - x.mean()) / sd if sd > 0 else torch.zeros_like(x)
        else:
            lo, hi = x.min(), x.max()
            x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
        x = x.repeat(channels, *([1] * crop.ndim))
        if normalize == "imagenet":
            shape = (channels,) + (1,) * crop.ndim
            mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
            x = (x - mean.view(shape)) / std.view(shape)
        out.append(x)
    return torch.stack(out)
