"""Volumes to 2D training slices and back: validation, normalisation, aspect-keeping resize.

Why everything here is checked up front: a training run that dies after twenty minutes on the
one patient with a NaN voxel or a mislabelled mask is the worst way to find out. `load_case`
reads and checks a case completely (and raises an InputError naming case and file) before any
stage writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F
from torch import Tensor

from spinedlr.errors import InputError
from spinedlr.imaging import Geometry, read_image, to_array

# Per-volume, per-channel robust min-max: clip at these percentiles, scale to [0, 1]. Robust to
# the odd bright vessel or fat voxel; the same rule runs at training and prediction time.
NORMALISATION = {"method": "percentile_minmax", "low_pct": 0.5, "high_pct": 99.5}


@dataclass
class Case:
    """One patient's image channels (C, z, y, x; normalised) and optional class-index mask."""

    case_id: str
    image: np.ndarray
    reference: sitk.Image
    mask: np.ndarray | None = None
    image_paths: tuple[Path, ...] = ()
    mask_path: Path | None = None

    def n_slices(self, axis: int) -> int:
        return self.image.shape[axis + 1]


def normalise(volume: np.ndarray) -> np.ndarray:
    """Clip to the NORMALISATION percentiles and scale to [0, 1] (a constant volume gives 0)."""
    lo, hi = np.percentile(volume, [NORMALISATION["low_pct"], NORMALISATION["high_pct"]])
    if hi <= lo:
        return np.zeros(volume.shape, np.float32)
    return ((np.clip(volume, lo, hi) - lo) / (hi - lo)).astype(np.float32)


def load_image(
    case_id: str, paths: list[Path], min_slices: int = 1, slice_axis: int = 0
) -> tuple[np.ndarray, sitk.Image]:
    """Read and normalise the image channels of a case; geometry and NaNs are checked."""
    arrays, reference = [], None
    for path in paths:
        img = read_image(path, case_id)
        if img.GetDimension() != 3 or img.GetNumberOfComponentsPerPixel() != 1:
            raise InputError(f"patient {case_id}: {path} must be a 3D scalar volume")
        if reference is None:
            reference = img
        elif (why := Geometry.of(reference).mismatch(Geometry.of(img))) is not None:
            raise InputError(f"patient {case_id}: {path} geometry differs from {paths[0]} ({why})")
        arr = to_array(img).astype(np.float32)
        if not np.isfinite(arr).all():
            raise InputError(f"patient {case_id}: {path} holds NaN or infinite intensities")
        if arr.shape[slice_axis] < min_slices:
            raise InputError(
                f"patient {case_id}: {path} has {arr.shape[slice_axis]} slice(s) along axis "
                f"{slice_axis}; the ROI needs at least {min_slices}"
            )
        arrays.append(normalise(arr))
    return np.stack(arrays), reference


def load_mask(
    case_id: str, path: Path, reference: sitk.Image, label_values: list[int]
) -> np.ndarray:
    """Read a label mask and map label values to class indices 1..K (0 = background)."""
    img = read_image(path, case_id)
    if (why := Geometry.of(reference).mismatch(Geometry.of(img))) is not None:
        raise InputError(f"patient {case_id}: mask {path} does not match its image ({why})")
    arr = to_array(img)
    found = np.unique(arr)
    unknown = sorted(set(found.tolist()) - {0, *label_values})
    if unknown:
        raise InputError(
            f"patient {case_id}: mask {path} holds label(s) {unknown} not configured for the "
            f"ROI (configured: {sorted(label_values)})"
        )
    if len(found) == 1 and found[0] == 0:
        raise InputError(f"patient {case_id}: mask {path} is empty (no labelled voxel)")
    lut = np.zeros(max(label_values) + 1, np.int64)
    lut[label_values] = np.arange(1, len(label_values) + 1)
    return lut[arr.astype(np.int64)].astype(np.uint8)


def load_case(
    case_id: str,
    image_paths: list[Path],
    mask_path: Path | None,
    label_values: list[int],
    slice_axis: int,
    min_slices: int = 1,
) -> Case:
    """Read and check a case completely (image channels, then mask if given)."""
    image, ref = load_image(case_id, image_paths, min_slices, slice_axis)
    mask = load_mask(case_id, mask_path, ref, label_values) if mask_path is not None else None
    return Case(case_id, image, ref, mask, tuple(image_paths), mask_path)


def slices(volume: np.ndarray, axis: int) -> np.ndarray:
    """(C, z, y, x) -> (S, C, h, w) along `axis` of the (z, y, x) volume; (z,y,x) -> (S, h, w)."""
    if volume.ndim == 4:
        return np.moveaxis(volume, axis + 1, 0)
    return np.moveaxis(volume, axis, 0)


@dataclass(frozen=True)
class Fit:
    """Where an (h, w) slice sits inside the square network input after resize and pad."""

    h: int
    w: int
    nh: int
    nw: int
    top: int
    left: int


def fit_geometry(h: int, w: int, size: int) -> Fit:
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    return Fit(h, w, nh, nw, (size - nh) // 2, (size - nw) // 2)


def fit(x: Tensor, size: int, mode: str = "bilinear") -> tuple[Tensor, Fit]:
    """Resize (N, C, h, w) so the longer side is `size` (aspect kept), zero-pad to square."""
    f = fit_geometry(x.shape[-2], x.shape[-1], size)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    r = F.interpolate(x, size=(f.nh, f.nw), mode=mode, **kw)
    out = x.new_zeros((*x.shape[:-2], size, size))
    out[..., f.top : f.top + f.nh, f.left : f.left + f.nw] = r
    return out, f


def unfit(x: Tensor, f: Fit) -> Tensor:
    """Inverse of `fit` for network outputs (N, K, size, size) -> (N, K, h, w), bilinear."""
    crop = x[..., f.top : f.top + f.nh, f.left : f.left + f.nw]
    return F.interpolate(crop, size=(f.h, f.w), mode="bilinear", align_corners=False)


def training_slices(
    case: Case, axis: int, size: int, background_ratio: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """All slices with foreground plus a seeded sample of empty ones, fitted to `size`.

    Empty slices are kept (up to `background_ratio` x the foreground count) so the network
    learns to predict nothing outside the ROI, without letting them dominate the loss.
    """
    assert case.mask is not None
    img = torch.from_numpy(np.ascontiguousarray(slices(case.image, axis)))
    msk = torch.from_numpy(np.ascontiguousarray(slices(case.mask, axis)))
    has_fg = msk.flatten(1).amax(dim=1) > 0
    fg = torch.nonzero(has_fg).flatten()
    bg = torch.nonzero(~has_fg).flatten()
    n_bg = min(len(bg), int(round(background_ratio * len(fg))))
    bg = bg[torch.randperm(len(bg), generator=generator)[:n_bg]]
    keep = torch.sort(torch.cat([fg, bg])).values
    x, _ = fit(img[keep], size)
    y, _ = fit(msk[keep, None].float(), size, mode="nearest")
    return x, y[:, 0].round().to(torch.uint8)


def augment(x: Tensor, y: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Light augmentation: rotation +-10 deg, scale 0.9-1.1, shift +-5 %, gamma and contrast.

    Never flips: left and right muscles carry different labels, and a mirrored image with
    unswapped labels would teach the network the wrong side.
    """
    n = x.shape[0]

    def u(lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    angle = u(-10, 10) * torch.pi / 180
    scale = u(0.9, 1.1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, u(-0.05, 0.05)], 1), torch.stack([sin, cos, u(-0.05, 0.05)], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    y = F.grid_sample(y[:, None].float(), grid, mode="nearest", align_corners=False)[:, 0]
    gamma = torch.exp(u(-0.2, 0.2))[:, None, None, None]
    contrast = u(0.9, 1.1)[:, None, None, None]
    x = (x.clamp(min=0) ** gamma) * contrast
    return x, y.round().to(torch.uint8)


def block(case: Case, axis: int, start: int, stop: int) -> Case:
    """Slices [start, stop) of a case along `axis` (image, mask and geometry): cranial/caudal
    block splits of a single volume, as in the muscle benchmark."""
    index = [slice(None)] * 3
    index[axis] = slice(start, stop)
    sitk_index = tuple(reversed(index))  # SimpleITK indexes x, y, z
    return Case(
        f"{case.case_id}[{start}:{stop}]",
        case.image[(slice(None), *index)],
        case.reference[sitk_index],
        None if case.mask is None else case.mask[tuple(index)],
        case.image_paths,
        case.mask_path,
    )
