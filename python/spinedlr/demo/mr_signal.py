"""MR acquisition effects: coil bias field, Rician noise and storage as int16.

Why: texture features are notoriously sensitive to noise and intensity non-uniformity; a
demo without them would make radiomics look easier than it is on real scans.
"""

from __future__ import annotations

import numpy as np


def bias_field(
    rng: np.random.Generator, shape: tuple[int, ...], coil_axis: int, strength: float = 0.18
) -> np.ndarray:
    """Smooth multiplicative field, brighter towards the posterior surface coil.

    Spine coils lie under the patient's back, so signal falls off anteriorly along
    ``coil_axis``; a weak random smooth component adds scanner-to-scanner variation.
    """
    ramp = np.linspace(-0.5, 0.5, shape[coil_axis])
    sh = [1] * len(shape)
    sh[coil_axis] = shape[coil_axis]
    gradient = strength * ramp.reshape(sh) * rng.uniform(0.6, 1.2)
    axes = np.meshgrid(*(np.linspace(0, np.pi, s) for s in shape), indexing="ij")
    wobble = sum(
        0.03 * np.cos(rng.uniform(0.5, 1.5) * a + rng.uniform(0, 2 * np.pi)) for a in axes[1:]
    )
    return np.exp(gradient + wobble).astype(np.float32)


def rician(rng: np.random.Generator, signal: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of signal plus complex Gaussian noise (what a magnitude MR image shows)."""
    re = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    im = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return np.hypot(re, im)


def to_int16(image: np.ndarray) -> np.ndarray:
    """Round to the integer storage type of clinical DICOM/NIfTI."""
    return np.clip(np.rint(image), 0, np.iinfo(np.int16).max).astype(np.int16)
