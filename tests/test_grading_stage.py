"""The grading stage (issue 15): the SPIDER study's config validates and selects only the
grading stage; manifest paths resolve against the manifest's folder; on a subset of the real
crops `run_pipeline` writes the declared tables, and their CV macro AUROC is the one
spinedlr.grading computes itself on the same rows and seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from spinedlr.config import load_study
from spinedlr.design.support import require_supported
from spinedlr.errors import ConfigError
from spinedlr.pipeline import STAGES

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "spider_pfirrmann" / "study.yaml"
DATA = ROOT.parent / "shared" / "data" / "spider_pfirrmann"


def _study_with(tmp_path: Path, **changes) -> Path:
    cfg = yaml.safe_load(STUDY.read_text())
    cfg["manifest"] = str((STUDY.parent / cfg["manifest"]).resolve())
    for section, values in changes.items():
        cfg[section] = {**cfg[section], **values} if isinstance(values, dict) else values
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_the_spider_study_validates_and_runs_the_grading_stage_only():
    study = load_study(STUDY)
    require_supported(study)
    assert [s.name for s in STAGES if s.active(study)] == ["grading"]
    assert study.config.grading.bootstrap == 500 and study.config.design.calibration == "temperature"
    with pytest.raises(Exception):  # frozen after validation
        study.config.grading.cv_folds = 2


def test_the_grading_models_named_in_settings_are_the_fitted_ones():
    from spinedlr.grading.fit import MODELS
    from spinedlr.grading.settings import GRADING_MODELS

    assert set(GRADING_MODELS) == set(MODELS)


@pytest.mark.parametrize("changes, says", [
    ({"design": {"calibration": "none"}}, "design.calibration none: the grading stage calibrates"),
    ({"design": {"models": [{"name": "svm"}]}}, "design.models svm"),
    ({"design": {"validation": {"scheme": "kfold", "folds": 5}, "calibration": "none"}},
     "fixed train/validation/test"),
])
def test_a_grading_design_the_stage_cannot_run_is_refused_before_any_stage(tmp_path, changes, says):
    study = load_study(_study_with(tmp_path, **changes))
    with pytest.raises(ConfigError, match=says):
        require_supported(study)


@pytest.mark.parametrize("grading", [{"bootstrap": 1}, {"cv_folds": 1}, {"loso_model": "svm"},
                                     {"seed": 3}])
def test_grading_settings_are_checked(tmp_path, grading):
    with pytest.raises(ConfigError):
        load_study(_study_with(tmp_path, grading=grading))


def test_manifest_paths_resolve_against_the_manifest_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.yaml").write_text("manifest: ../data/m.csv\n")
    study = load_study(tmp_path / "study" / "study.yaml")
    assert study.resolve_data("images/a.png") == tmp_path / "data" / "images" / "a.png"
    assert study.resolve("params.yaml") == tmp_path / "study" / "params.yaml"  # config paths
    beside = load_study(_study_with(tmp_path, manifest="m.csv"))  # a demo's layout: one folder
    assert beside.resolve_data("images/a.png") == beside.resolve("images/a.png")


def _subset(tmp_path: Path, n_patients: int) -> Path:
    """discs.csv of the first patients with T2 crops, in its own folder beside a link to the
    shared images (so its relative paths resolve only against the manifest's folder)."""
    m = pl.read_csv(DATA / "discs.csv")
    keep = sorted(m.filter(pl.col("sequence") == "t2")["patient_id"].unique())[:n_patients]
    data = tmp_path / "data"
    data.mkdir()
    (data / "images").symlink_to(DATA / "images")
    m.filter(pl.col("patient_id").is_in(keep)).write_csv(data / "discs.csv")
    return data / "discs.csv"


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "discs.csv").exists(), reason="../shared SPIDER data absent")
def test_the_stage_writes_its_tables_and_its_cv_is_grading_fits(tmp_path):
    from spinedlr.design.splits import PatientKFold
    from spinedlr.grading import metrics
    from spinedlr.grading.features import feature_table
    from spinedlr.grading.fit import MODELS, cross_val_proba
    from spinedlr.pipeline import run_pipeline

    manifest = _subset(tmp_path, 24)
    cfg = yaml.safe_load(STUDY.read_text())
    cfg.update(manifest=str(Path("..") / "data" / "discs.csv"), output="out", seed=3)
    cfg["design"]["models"] = [{"name": "lr"}]
    # a larger validation share, so that 24 patients' validation discs hold every grade
    cfg["design"]["validation"] = {"scheme": "fixed", "train": 0.5, "validation": 0.3, "test": 0.2}
    cfg["grading"] = {"baseline": False, "cv_folds": 3, "cv_repeats": 1, "bootstrap": 20,
                      "loso_model": "lr"}
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    study = load_study(tmp_path / "study" / "study.yaml")
    done = dict(run_pipeline(study))
    assert done.pop("grading") == "ran" and set(done.values()) == {"disabled"}
    written = {p.relative_to(study.output).parts[0] for p in study.output.rglob("*") if p.is_file()}
    assert written == {"grading", ".cache", "provenance.json"}
    p = study.paths
    for name in ("cohort", "cv_folds", "holdout", "loso"):
        assert pl.read_parquet(p.grading_table(name)).height > 0, name
    folds = pl.read_parquet(p.grading_table("cv_folds"))
    assert folds["model"].unique().to_list() == ["lr"] and folds.height == 3

    table, _ = feature_table(manifest.parent, p.grading_cache, 3)  # the stage's cached rows
    y = table["pfirrmann"].to_numpy()
    P, tests = cross_val_proba(MODELS["lr"], table, PatientKFold(3, random_state=3), 3, 3)
    expected = [metrics.headline(y[t], P[t])["macro_auroc"] for t in tests]
    assert np.allclose(folds.sort("fold")["macro_auroc"].to_numpy(), expected, atol=1e-12)
    holdout = pl.read_parquet(p.grading_table("holdout"))
    assert set(holdout["probabilities"]) == {"uncalibrated", "calibrated"}
    macro = holdout.filter((pl.col("metric") == "macro_auroc") & (pl.col("probabilities") == "calibrated"))
    assert macro.height == 1 and macro["lower"][0] <= macro["estimate"][0] <= macro["upper"][0]
    # the summary and the frozen model's record name the calibration the design asked for
    method = cfg["design"]["calibration"]
    assert json.loads(p.grading_summary.read_text())["holdout"]["lr"]["calibration"] == method
    assert json.loads(p.grading_model.read_text())["calibration"] == method
    assert dict(run_pipeline(study))["grading"] == "skipped"  # unchanged inputs and settings
