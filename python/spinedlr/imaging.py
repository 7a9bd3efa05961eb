"""Reading volumes and comparing their physical geometry.

Why one module: every stage (validation, segmentation, extraction) must agree on what "the same
geometry" means, or a mask that validation accepted could be misplaced by extraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from spinedlr.errors import InputError

GEOMETRY_TOL = 1e-4


@dataclass(frozen=True)
class Geometry:
    """Size (x, y, z as SimpleITK reports it), spacing, origin and direction of a volume."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> "Geometry":
        return cls(
            tuple(image.GetSize()),
            tuple(image.GetSpacing()),
            tuple(image.GetOrigin()),
            tuple(image.GetDirection()),
        )

    def mismatch(self, other: "Geometry", tol: float = GEOMETRY_TOL) -> str | None:
        """Name the first property that differs (None when the two match)."""
        if self.size != other.size:
            return f"size {self.size} vs {other.size}"
        for name in ("spacing", "origin", "direction"):
            a, b = np.asarray(getattr(self, name)), np.asarray(getattr(other, name))
            if not np.allclose(a, b, atol=tol, rtol=0):
                return f"{name} {tuple(np.round(a, 4))} vs {tuple(np.round(b, 4))}"
        return None


def read_image(path: str | Path, case: str | None = None) -> sitk.Image:
    """Read a volume, turning SimpleITK's errors into one line naming the case and file."""
    path = Path(path)
    where = f"patient {case}: " if case else ""
    if not path.exists():
        raise InputError(f"{where}file not found: {path}")
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as err:
        first = str(err).strip().splitlines()[-1] if str(err).strip() else "unreadable"
        raise InputError(f"{where}cannot read {path}: {first}") from None


def read_header(path: str | Path, case: str | None = None) -> Geometry:
    """Geometry from the header alone (no voxel data read): cheap validation of big cohorts."""
    path = Path(path)
    where = f"patient {case}: " if case else ""
    if not path.exists():
        raise InputError(f"{where}file not found: {path}")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        raise InputError(f"{where}cannot read {path}: not a readable image") from None
    return Geometry(
        tuple(reader.GetSize()),
        tuple(reader.GetSpacing()),
        tuple(reader.GetOrigin()),
        tuple(reader.GetDirection()),
    )


def to_array(image: sitk.Image) -> np.ndarray:
    """Voxel array in numpy (z, y, x) order."""
    return sitk.GetArrayFromImage(image)


def write_like(array: np.ndarray, reference: sitk.Image, path: str | Path) -> None:
    """Write an array with the reference's geometry, atomically (temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(reference)
    tmp = path.with_name(f".{path.name}.tmp{''.join(path.suffixes)}")
    sitk.WriteImage(out, str(tmp), useCompression=True)
    tmp.replace(path)
