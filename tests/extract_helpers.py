"""Helpers for the extract tests: tiny studies pointing at the real disc MRI in ../shared."""

from __future__ import annotations

from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
DISCS = SHARED / "data" / "spine_mri" / "discs"
IBSI = SHARED / "data" / "ibsi_phantom"
DISC_LABELS = {1: "L5S1", 2: "L4L5", 3: "L3L4", 4: "L2L3", 5: "L1L2"}
HAVE_DISCS = (DISCS / "case11_t2.nii.gz").exists()
needs_discs = {"condition": not HAVE_DISCS, "reason": "needs ../shared/data/spine_mri/discs"}

# A small parameter file for the tests that are about plumbing, not about feature values.
SMALL_PARAMS = {
    "imageType": {"Original": {}},
    "featureClass": {"shape": None, "firstorder": None, "glcm": None},
    "setting": {"binWidth": 25, "label": 1},
}


def disc_study(
    folder: Path, cases: tuple[str, ...] = ("case11", "case20"), combine: str = "each",
    extract: dict | None = None, labels: dict[int, str] | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> Path:
    """Write study.yaml + manifest.csv for the real disc cases; return the study.yaml path.

    ``overrides`` maps patient -> {column: path} to plant a bad file for failure tests.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, case in enumerate(cases):
        row = {
            "patient_id": case, "recurrence": i % 2,
            "disc_image": str(DISCS / f"{case}_t2.nii.gz"),
            "disc_mask_rater1": str(DISCS / f"{case}_discs.nii.gz"),
        }
        row.update((overrides or {}).get(case, {}))
        rows.append(row)
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    config = {
        "covariates": [], "comparator": None,
        "rois": [{
            "name": "disc", "image": "disc_image", "masks": {"rater1": "disc_mask_rater1"},
            "dim": "3D", "labels": labels or DISC_LABELS, "combine": combine,
        }],
        "extract": extract or {},
    }
    (folder / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "study.yaml"


def write_params(folder: Path, params: dict) -> str:
    path = folder / "params.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return str(path)
