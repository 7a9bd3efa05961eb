"""Helpers for the fan2024 end-to-end tests: a small two-centre demo with fast settings.

One segmentation epoch at 64 px, original-image radiomics, 48 patients (32 training, 16
external), no full-pipeline validation and few resamples keep a whole run to a few minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from spinedlr.config import load_study
from spinedlr.design.support import require_supported

ROOT = Path(__file__).resolve().parents[1]
FAST_PARAMS = ROOT / "tests" / "data" / "fast_radiomics.yaml"
FAST_SELECT = {"mrmr_k_grid": [1, 2, 4, 8], "rf_trees": 20, "lasso_folds": 5, "svm_rfe_folds": 5,
               "validation_folds": 0}
FAST_EVALUATE = {"boot_n": 0, "calibration_b": 10, "pauc_boot_n": 10, "folds": 5, "loocv": False,
                 "thresholds": [0.1, 0.2, 0.3, 0.5], "hl_groups": 4}


def cli(*args: str) -> subprocess.CompletedProcess:
    """`spinedlr ARGS` in a subprocess, one thread per library."""
    return subprocess.run([sys.executable, "-m", "spinedlr.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def fast_fan_demo(d: Path, models: list[str] | None, covariates: set[str]) -> Path:
    """Write the demo into ``d`` (its own study.yaml must pass the design check), then set fast
    settings, the given ``design.models`` (None: the Radscore alone) and covariates."""
    res = cli("demo", str(d), "--design", "fan2024", "--n", "48", "--seed", "3")
    assert res.returncode == 0, res.stderr
    require_supported(load_study(d / "study.yaml"))  # the nine classifiers, as written
    cfg = yaml.safe_load((d / "study.yaml").read_text())
    if models is None:
        del cfg["design"]["models"]
    else:
        cfg["design"]["models"] = [{"name": m} for m in models]
    cfg["covariates"] = [c for c in cfg["covariates"] if c["name"] in covariates]
    cfg["segment"].update(epochs=1, img_size=64, base_channel=8)
    cfg["extract"].update(params=str(FAST_PARAMS))
    cfg["select"].update(FAST_SELECT)
    cfg["evaluate"].update(FAST_EVALUATE)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return d / "study.yaml"
