"""Loaders for the real spine MRI sample (``<repo>/../shared/data/spine_mri``) used by the
segmentation test and benchmark, with their train/test splits in one place.

- Discs: three sagittal T2 cases, labels 1-5 (L5/S1 .. L1/L2); train on two, test on the third.
  Learnt as one class and numbered by position (``DISC_NUMBERING``).
- Muscles: one axial Dixon volume, labels 1-4. Slice index grows caudally (multifidus area
  grows and erector spinae area shrinks with it), so the first slices are the cranial training
  block and the rest the caudal test block. The water image's header lost its origin (0, 0, 0)
  while fat image and mask share the scanner origin on the same voxel grid; the loader gives
  the water channel the fat image's geometry so both can be used as two input channels.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import SimpleITK as sitk

from spinedlr.segment.data import Case, block, load_case
from spinedlr.segment.settings import NumberByPosition

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "spine_mri"
DISC_LABELS = {1: "L5/S1", 2: "L4/L5", 3: "L3/L4", 4: "L2/L3", 5: "L1/L2"}
MUSCLE_LABELS = {1: "muscle_1", 2: "muscle_2", 3: "muscle_3", 4: "muscle_4"}
DISC_CASES = ("case11", "case20", "case25")
# rows run head -> feet, so L5/S1 (label 1) is the disc nearest the last row
DISC_NUMBERING = NumberByPosition(axis=1, first="end")
MUSCLE_TRAIN_SLICES = 20  # of 29: cranial 20 train, caudal 9 test


def available(root: Path = DEFAULT_ROOT) -> bool:
    return (root / "discs").is_dir() and (root / "muscles").is_dir()


def disc_cases(root: Path = DEFAULT_ROOT) -> tuple[list[Case], Case]:
    """(two training cases, held-out test case), sliced sagittally along axis 0."""
    d = root / "discs"
    cases = [
        load_case(c, [d / f"{c}_t2.nii.gz"], d / f"{c}_discs.nii.gz", sorted(DISC_LABELS), 0)
        for c in DISC_CASES
    ]
    return cases[:2], cases[2]


def muscle_blocks(root: Path = DEFAULT_ROOT, channels: str = "water+fat") -> tuple[Case, Case]:
    """(cranial training block, caudal test block) of the Dixon volume, axial along axis 0."""
    m = root / "muscles"
    fat = m / "tum01_dixon_fat.nii.gz"
    with tempfile.TemporaryDirectory() as tmp:
        water = sitk.ReadImage(str(m / "tum01_dixon_water.nii.gz"))
        water.CopyInformation(sitk.ReadImage(str(fat)))
        water_path = Path(tmp) / "water.nii.gz"
        sitk.WriteImage(water, str(water_path))
        paths = {"water": [water_path], "fat": [fat], "water+fat": [water_path, fat]}[channels]
        case = load_case("tum01", paths, m / "tum01_muscles.nii.gz", sorted(MUSCLE_LABELS), 0)
    n = case.n_slices(0)
    return block(case, 0, 0, MUSCLE_TRAIN_SLICES), block(case, 0, MUSCLE_TRAIN_SLICES, n)
