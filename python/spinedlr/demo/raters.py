"""Two raters' masks from a true label map, disagreeing the way human raters do.

Why this model: raters trace the same anatomy, so their outlines differ by small smooth
boundary displacements (1–2 pixels), a slight overall offset and a personal tendency to
draw tight or generous — never by random blobs. Each rater's outline is the zero level set
of the true in-plane signed distance plus a smooth random displacement field, a sub-pixel
shift per slice and a constant bias; where two labels claim a pixel the one whose perturbed
distance is more negative wins, so labels never overlap.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from spinedlr.demo.shapes import smooth_field

# per-rater constant boundary offset (pixels; negative = tighter outline)
RATER_BIAS = {"rater1": -0.25, "rater2": 0.35}
DISPLACEMENT_SD = 0.75  # pixels, smooth along the boundary
SHIFT_SD = 0.35  # pixels, whole outline per slice
MARGIN = 6  # pixels around a label where its boundary can move (bounds the work)


def _signed_distance(inside: np.ndarray) -> np.ndarray:
    """In-plane signed distance per slice (pixels, negative inside) of a 3D boolean mask."""
    out = np.full(inside.shape, float(MARGIN))
    for k, sl in enumerate(inside):
        if sl.any():
            out[k] = ndimage.distance_transform_edt(~sl) - ndimage.distance_transform_edt(sl)
    return out


def rater_masks(rng: np.random.Generator, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Each rater's label map (same dtype and labels as ``truth``)."""
    labels = [int(v) for v in np.unique(truth) if v != 0]
    # one smooth displacement field per rater: neighbouring labels move together, as a
    # rater's hand does along a shared border
    fields = {
        r: DISPLACEMENT_SD * smooth_field(rng, truth.shape, (1.0, 4.0, 4.0)) for r in RATER_BIAS
    }
    best = {r: np.full(truth.shape, np.inf) for r in RATER_BIAS}
    out = {r: np.zeros_like(truth) for r in RATER_BIAS}
    for lab in labels:
        inside = truth == lab
        ys, xs = np.nonzero(inside.any(axis=0))
        box = (
            slice(None),
            slice(max(ys.min() - MARGIN, 0), ys.max() + MARGIN + 1),
            slice(max(xs.min() - MARGIN, 0), xs.max() + MARGIN + 1),
        )
        sdf = _signed_distance(inside[box])
        for rater, bias in RATER_BIAS.items():
            phi = sdf + fields[rater][box] - bias
            for k in range(phi.shape[0]):
                shift = rng.normal(0.0, SHIFT_SD, 2)
                phi[k] = ndimage.shift(phi[k], shift, order=1, mode="nearest")
            cur = best[rater][box]
            take = (phi < 0) & (phi < cur)
            out[rater][box][take] = lab
            cur[take] = phi[take]
    return out
