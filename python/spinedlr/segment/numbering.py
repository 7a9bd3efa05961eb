"""Number the connected components of a one-class prediction by their position.

See ``settings.NumberByPosition`` for why: levels of the spine look alike, so the network finds
discs and their order along the column says which is which.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from spinedlr.segment.settings import NumberByPosition


def number_by_position(foreground: np.ndarray, label_values: list[int], order: NumberByPosition) -> np.ndarray:
    """Label map: the k-th component from ``order.first`` gets the k-th lowest label value.

    Components are 3D and fully connected (faces, edges, corners); those below
    ``order.min_fraction`` of the largest are dropped as noise, and components beyond the
    number of labels (an extra level at the far end) are left out.
    """
    mask = foreground > 0
    comps, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    out = np.zeros(foreground.shape, np.result_type(np.uint8, np.min_scalar_type(max(label_values))))
    if n == 0:
        return out
    index = np.arange(1, n + 1)
    sizes = ndimage.sum_labels(mask, comps, index)
    centres = np.array(ndimage.center_of_mass(mask, comps, index))
    keep = index[sizes >= order.min_fraction * sizes.max()]
    position = centres[keep - 1, order.axis]
    ranked = keep[np.argsort(position if order.first == "start" else -position, kind="stable")]
    lut = np.zeros(n + 1, out.dtype)
    for comp, value in zip(ranked, sorted(label_values)):
        lut[comp] = value
    return lut[comps]
