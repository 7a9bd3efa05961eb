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
    """Row and column coordinates (float pixels) of a 2D slice."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return yy.astype(np.float64), xx.astype(np.float64)


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
    cy, cx = center
    ca, sa = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u = (ca * dx + sa * dy) / radii[1]
    v = (-sa * dx + ca * dy) / radii[0]
    if power == 2.0:
        r = np.sqrt(u * u + v * v)
    else:
        r = (np.abs(u) ** power + np.abs(v) ** power) ** (1.0 / power)
    return (r - 1.0) * np.minimum(radii[0], radii[1])


def soft(d: np.ndarray, width: float = 0.6) -> np.ndarray:
    """Fractional occupancy of a shape from its signed distance (partial-volume ramp)."""
    return 1.0 / (1.0 + np.exp(np.clip(d / width, -40, 40)))


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, ...], sigma: float | tuple[float, ...]
) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to unit SD: texture, deformations, patches."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap", truncate=3.0)
    return f / (f.std() + 1e-12)
