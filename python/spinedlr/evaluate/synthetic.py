"""A synthetic study for the evaluate stage alone: manifest covariates + Radscores.

The evaluate tests and benchmark need a 170-patient study shaped like the reference one
(covariate distributions of its Table 1, Radscores separating the outcome about as well as
its Table 2) without running segmentation, extraction and selection first. Image and mask
columns hold placeholder paths: the evaluate stage never opens them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import yaml

from spinedlr.config import StudyConfig
from spinedlr.outputs import write_atomic, write_text_atomic
from spinedlr.paths import StudyPaths
from spinedlr.presets import reference

# Level probabilities from the reference study's Table 1.
CATEGORICAL = {
    "gender": (["female", "male"], [0.42, 0.58]),
    "smoking": (["no", "yes"], [0.73, 0.27]),
    "diabetes": (["no", "yes"], [0.78, 0.22]),
    "hypertension": (["no", "yes"], [0.62, 0.38]),
    "vas_pre": ([3, 4, 5, 6, 7, 8], [0.01, 0.05, 0.46, 0.40, 0.06, 0.02]),
    "vas_post": ([2, 3], [0.79, 0.21]),
    "occupation": (["office_worker", "laborer", "farmer", "self_employed"], [0.37, 0.09, 0.42, 0.12]),
    "pfirrmann": (["III", "IV", "V"], [0.38, 0.52, 0.10]),
    "modic": (["normal", "I", "II", "III"], [0.27, 0.02, 0.61, 0.10]),
    "herniation_type": (["bulge", "herniation", "prolapse"], [0.15, 0.77, 0.08]),
    "segment": (["L3/4", "L4/5", "L5/S1"], [0.04, 0.63, 0.33]),
}


def synthetic_tables(n: int = 170, events: int = 39, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(manifest, radscores) for `n` patients, `events` of them with the outcome."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, events, replace=False)] = 1
    ids = [f"P{i + 1:04d}" for i in range(n)]
    man: dict[str, object] = {"patient_id": ids, reference.OUTCOME: y}
    man["age"] = np.round(rng.normal(58.4, 14.4, n).clip(30, 87), 1)
    man["bmi"] = np.round(rng.normal(24.6, 3.4, n), 2)
    man["duration"] = np.round(rng.exponential(3.5, n) + 1.5 * y, 2)
    for name, (levels, probs) in CATEGORICAL.items():
        man[name] = [levels[i] for i in rng.choice(len(levels), n, p=probs)]
    for roi in reference.rois():
        man[roi["image"]] = [f"images/{p}_{roi['name']}.nii.gz" for p in ids]
        for rater, column in roi["masks"].items():
            man[column] = [f"masks/{p}_{roi['name']}_{rater}.nii.gz" for p in ids]
    disc = -1.95 + 2.3 * y + rng.normal(0, 1.6, n)
    muscle = -1.44 + 0.9 * y + rng.normal(0, 1.1, n)
    rad = pl.DataFrame({
        "patient_id": ids, "outcome": y, reference.score(reference.DISC): disc,
        reference.score(reference.MUSCLE): muscle,
        "radscore_combined": 0.8 * disc + 0.5 * muscle + rng.normal(0, 0.3, n),
    })
    return pl.DataFrame(man), rad


def write_synthetic_study(folder: Path, n: int = 170, events: int = 39, seed: int = 0,
                          evaluate: dict | None = None) -> Path:
    """Write study.yaml, manifest.csv and out/radscores.parquet; return the study.yaml path."""
    folder.mkdir(parents=True, exist_ok=True)
    man, rad = synthetic_tables(n, events, seed)
    cfg = {"name": "synthetic evaluate study", "manifest": "manifest.csv", "output": "out"}
    if evaluate:
        cfg["evaluate"] = evaluate
    StudyConfig.model_validate(cfg)
    write_text_atomic(folder / "study.yaml", yaml.safe_dump(cfg, sort_keys=False))
    write_atomic(folder / "manifest.csv", man.write_csv)
    write_atomic(StudyPaths(folder / cfg["output"]).radscores, rad.write_parquet)
    return folder / "study.yaml"
