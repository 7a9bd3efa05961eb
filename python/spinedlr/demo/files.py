"""What every demo design shares when it writes a study: seeded streams, volumes, folders.

Why one module: the reference, Fan-like and Zou-like demos must agree on how a seed becomes
random streams (so each is reproducible byte for byte), on how volumes are stored (physical
spacing, direction, zero origin, gzip with a zero timestamp) and on how a rerun in the same
folder removes a previous, larger demo's files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from spinedlr.demo.raters import RATER_BIAS

RATERS = tuple(RATER_BIAS)


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent stream per (seed, key): one patient's draws never depend on another's."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def patient_ids(n: int, prefix: str = "P") -> list[str]:
    """``P001``... zero-padded to at least three digits (so they sort as numbers do)."""
    width = max(3, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def write_volume(array: np.ndarray, spacing: tuple, direction: tuple, path: Path) -> None:
    """Write ``array`` (z, y, x) with physical geometry; the same array gives the same bytes."""
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetDirection(direction)
    img.SetOrigin((0.0, 0.0, 0.0))
    sitk.WriteImage(img, str(path), useCompression=True)


def prepare_folder(out: Path, folders: list[str]) -> None:
    """Create ``folders`` under ``out`` and empty them of an earlier demo's volumes.

    ``truth.parquet`` (every design writes it last) is removed first, so an interrupted
    rewrite never looks finished to ``--skip-existing``.
    """
    for sub in folders:
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "truth.parquet").unlink(missing_ok=True)
    for sub in folders:
        for stale in (out / sub).glob("*.nii.gz"):
            stale.unlink()  # a previous, larger demo in the same folder
