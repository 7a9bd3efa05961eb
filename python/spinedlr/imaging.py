"""Reading volumes and comparing their physical geometry.

Why one module: every stage (validation, segmentation, extraction) must agree on what "the same
geometry" means, or a mask that validation accepted could be misplaced by extraction.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from spinedlr.errors import InputError
from spinedlr.outputs import write_atomic

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


_NIFTI_FLOATS = {16: "f4", 64: "f8"}


def _nifti_header(data: bytes) -> tuple[str, tuple[int, ...], int, int, int] | None:
    """(byte order, dims, datatype, bitpix, voxel offset) of a NIfTI-1/2 file; None: not NIfTI."""
    for endian in "<>":
        size = struct.unpack(endian + "i", data[:4])[0] if len(data) >= 4 else 0
        if size == 348 and len(data) >= 348:
            dims = struct.unpack(endian + "8h", data[40:56])
            datatype, bitpix = struct.unpack(endian + "2h", data[70:74])
            return endian, dims, datatype, bitpix, max(352, int(struct.unpack(endian + "f", data[108:112])[0]))
        if size == 540 and len(data) >= 540:
            datatype, bitpix = struct.unpack(endian + "2h", data[12:16])
            dims = struct.unpack(endian + "8q", data[16:80])
            return endian, dims, datatype, bitpix, struct.unpack(endian + "q", data[168:176])[0]
    return None


def read_complete(path: str | Path) -> bytes:
    """A file's whole content, decompressed; InputError for a broken gzip stream (truncation,
    CRC) or a NIfTI file holding fewer voxel bytes than its header promises.

    Why: SimpleITK fills the missing part of a truncated .nii.gz with zeros and reports no
    error, so features of a half-copied file would be silently wrong.
    """
    path = Path(path)
    try:
        with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")) as fh:
            data = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputError(f"cannot read {path.name}: truncated or corrupt gzip data ({err}); "
                         "copy the file again") from None
    header = _nifti_header(data) if ".nii" in path.name.lower() else None
    if header:
        _, dims, _, bitpix, offset = header
        n = int(np.prod([max(1, d) for d in dims[1 : 1 + max(0, min(int(dims[0]), 7))]]))
        if len(data) < offset + n * bitpix // 8:
            raise InputError(f"cannot read {path.name}: it holds {len(data):,} bytes but its "
                             f"NIfTI header promises {offset + n * bitpix // 8:,} (truncated); "
                             "copy the file again")
    return data


def stored_nonfinite(data: bytes, shape: tuple[int, ...]) -> np.ndarray | None:
    """Where a NIfTI file stores NaN or infinite voxels, in numpy (z, y, x) order.

    Why not from SimpleITK's array: ITK's NIfTI reader turns NaN into 0 without a word, so a
    ROI with NaN voxels would look valid and its features would be wrong. None when the file
    is not float NIfTI (integers cannot hold NaN; other readers keep NaN as NaN).
    """
    header = _nifti_header(data)
    if header is None or header[2] not in _NIFTI_FLOATS:
        return None
    endian, _, datatype, _, offset = header
    n = int(np.prod(shape))
    values = np.frombuffer(data, dtype=endian + _NIFTI_FLOATS[datatype], count=n, offset=offset)
    return ~np.isfinite(values).reshape(shape)


def to_array(image: sitk.Image) -> np.ndarray:
    """Voxel array in numpy (z, y, x) order."""
    return sitk.GetArrayFromImage(image)


def write_like(array: np.ndarray, reference: sitk.Image, path: str | Path) -> None:
    """Write an array with the reference's geometry, atomically (temp file then rename)."""
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(reference)
    write_atomic(Path(path), lambda tmp: sitk.WriteImage(out, str(tmp), useCompression=True))
