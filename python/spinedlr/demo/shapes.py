"""Soft-edged geometric primitives for rendering phantoms on a pixel grid.

Why soft edges: real MR voxels average the tissues they cover (partial volume), so tissue
boundaries are ramps, not steps. Every primitive returns an approximate signed distance in
pixels (negative inside); :func:`soft` turns it into a fractional occupancy and ``d < 0``
gives the hard shape used as the ground-truth mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (float pixels) of a 2D slice.

    float32 throughout the phantoms: half the memory traffic, and the rendering is far more
    precise than the int16 images it becomes.
    """
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return yy.astype(np.float32), xx.astype(np.float32)


def _f32(x):
    """Python float or float32 array: numpy would promote float32 arrays with float64 scalars."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float32)


def superellipse(
    yy: np.ndarray,
    xx: np.ndarray,
    center: tuple[float, float],
    radii: tuple[float, float],
    power: float = 2.0,
    angle: float = 0.0,
) -> np.ndarray:
    """Approximate signed distance (pixels) to a rotated superellipse.

    ``power`` 2 is an ellipse, larger values approach a rounded rectangle (vertebral bodies).
    """
    cy, cx = _f32(center[0]), _f32(center[1])
    ca, sa = float(np.cos(angle)), float(np.sin(angle))
    dy, dx = yy - cy, xx - cx
    ry, rx = _f32(radii[0]), _f32(radii[1])
    u = (ca * dx + sa * dy) / rx
    v = (-sa * dx + ca * dy) / ry
    if power == 2.0:
        r = np.sqrt(u * u + v * v)
    else:
        r = (np.abs(u) ** power + np.abs(v) ** power) ** (1.0 / power)
    return (r - 1.0) * _f32(np.minimum(ry, rx))


def soft(d: np.ndarray, width: float = 0.6) -> np.ndarray:
    """Fractional occupancy of a shape from its signed distance (partial-volume ramp)."""
    return 1.0 / (1.0 + np.exp(np.clip(d / np.float32(width), -40, 40)))


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, ...], sigma: float | tuple[float, ...]
) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to unit SD: texture, deformations, patches."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    f = ndimage.gaussian_filter(noise, sigma, mode="wrap", truncate=3.0)
    return f / (f.std() + 1e-12)
