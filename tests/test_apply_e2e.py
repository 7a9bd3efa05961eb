"""End to end: fit a small demo study, then `spinedlr apply` it to its own manifest.

The new run re-reads every image, re-extracts the PyRadiomics features and the trained
network's deep features into ``out/apply/<name>/`` and scores them with the frozen model:
it must give the fitted study's own predictions for its own patients, and leave the study's
own tables untouched. Fast settings (one epoch at 64 px, original-image radiomics, 40
patients, no full-pipeline validation) keep it to a few minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FAST_PARAMS = ROOT / "tests" / "data" / "fast_radiomics.yaml"
FAST_SELECT = {"mrmr_k_grid": [1, 2, 4, 8], "rf_trees": 20, "lasso_folds": 5, "svm_rfe_folds": 5,
               "validation_folds": 0}

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spinedlr.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "apply" not in p.parts}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A demo study fitted through segment, extract, deep and select."""
    d = tmp_path_factory.mktemp("apply") / "demo"
    res = _cli("demo", str(d), "--n", "40", "--events", "12", "--seed", "5")
    assert res.returncode == 0, res.stderr
    cfg = yaml.safe_load((d / "study.yaml").read_text())
    cfg["segment"].update(epochs=1, img_size=64, base_channel=8)
    cfg["extract"].update(params=str(FAST_PARAMS))
    cfg["select"].update(FAST_SELECT)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    only = [a for s in ("segment", "extract", "deep", "select") for a in ("--only", s)]
    res = _cli("run", str(d / "study.yaml"), *only)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return d


def test_apply_to_own_manifest_reproduces_the_fitted_predictions(study: Path, tmp_path: Path) -> None:
    out = study / "out"
    before = _hashes(out)
    dest = tmp_path / "predictions.csv"
    res = _cli("apply", str(study / "study.yaml"), str(study / "manifest.csv"), "--out", str(dest),
               "--name", "own")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "40 prediction(s) written" in res.stdout
    got = pl.read_csv(dest, schema_overrides={"patient_id": pl.String})
    assert got.columns == ["patient_id", "recurrence", "prob_0", "prob_1", "predicted"]
    manifest = pl.read_csv(study / "manifest.csv", schema_overrides={"patient_id": pl.String})
    assert got["patient_id"].to_list() == manifest["patient_id"].to_list()
    own = pl.read_parquet(out / "selection" / "predictions.parquet")
    joined = own.join(got, on="patient_id", suffix="_apply")
    assert joined.height == own.height == 40
    np.testing.assert_allclose(joined["prob_1_apply"], joined["prob_1"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(joined["prob_0_apply"], joined["prob_0"], rtol=1e-12, atol=1e-15)
    assert joined["predicted_apply"].cast(pl.String).to_list() == joined["predicted"].to_list()
    # the model uses deep features here, so the trained network's features were recomputed
    rec = (out / "selection" / "model.json").read_text()
    assert '"deep_rois": []' not in rec
    assert (out / "apply" / "own" / "features" / "deep.parquet").exists()
    prov = json.loads((out / "apply" / "own" / "provenance.json").read_text())
    assert prov["stage"] == "apply" and prov["units"] == 40
    assert _hashes(out) == before  # the study's own tables, caches and records untouched


def test_changed_extraction_settings_refuse_to_apply(study: Path, tmp_path: Path) -> None:
    """A model fitted on one bin width does not score features of another."""
    changed = tmp_path / "study.yaml"
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    cfg["extract"]["bin_width"] = 7.0
    cfg["output"] = str(study / "out")
    cfg["manifest"] = str(study / "manifest.csv")
    changed.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = _cli("apply", str(changed), str(study / "manifest.csv"), "--out", str(tmp_path / "p.csv"))
    assert res.returncode == 1
    assert "changed since the model was fitted" in res.stderr
    assert not (tmp_path / "p.csv").exists()
