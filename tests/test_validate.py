"""Config and manifest validation: every bad input gives a message naming the patient/file.

The study here is built by hand (a few tiny volumes), independent of the demo generator, so
each test can break exactly one thing and check that exactly that is reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
import yaml
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import StudyConfig, dump_config, load_study
from spinedlr.errors import ConfigError
from spinedlr.manifest import load_manifest, validate_study

N = 6
runner = CliRunner()


def _volume(arr: np.ndarray, path: Path, spacing=(0.8, 0.8, 4.0), origin=(0.0, 0.0, 0.0)) -> None:
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path))


def _clinical_row(i: int) -> dict:
    return {
        "age": 40 + i, "gender": ["female", "male"][i % 2], "bmi": 24.0 + i / 10,
        "smoking": "no", "duration": 2.0 + i, "diabetes": "no", "hypertension": "yes",
        "vas_pre": 5, "vas_post": 2, "occupation": "farmer", "pfirrmann": "IV",
        "modic": "II", "herniation_type": "herniation", "segment": "L4/5",
    }


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(N):
        pid = f"P{i:03d}"
        row = {"patient_id": pid, "recurrence": i % 2, **_clinical_row(i)}
        for roi, labels in (("disc", [1]), ("muscle", [1, 2, 3, 4, 5, 6])):
            img = rng.normal(100, 10, (3, 16, 16)).astype(np.float32)
            _volume(img, tmp_path / "images" / f"{pid}_{roi}.nii.gz")
            row[f"{roi}_image"] = f"images/{pid}_{roi}.nii.gz"
            for r, shift in (("rater1", 0), ("rater2", 1)):
                m = np.zeros((3, 16, 16), np.uint8)
                for k, lab in enumerate(labels):
                    m[:, 2 + 2 * k : 4 + 2 * k, 4 + shift : 10 + shift] = lab
                _volume(m, tmp_path / "masks" / r / f"{pid}_{roi}.nii.gz")
                row[f"{roi}_mask_{r}"] = f"masks/{r}/{pid}_{roi}.nii.gz"
        rows.append(row)
    pl.DataFrame(rows).write_csv(tmp_path / "manifest.csv")
    dump_config(StudyConfig(), tmp_path / "study.yaml")
    return tmp_path


def _edit_manifest(d: Path, fn) -> None:
    df = pl.read_csv(d / "manifest.csv", schema_overrides={"patient_id": pl.Utf8})
    fn(df).write_csv(d / "manifest.csv")


def _problems(d: Path, **kw) -> list[tuple[str, str, str]]:
    return validate_study(load_study(d / "study.yaml"), **kw).problems


def test_valid_study_passes_cli(study_dir: Path) -> None:
    res = runner.invoke(app, ["validate", str(study_dir / "study.yaml")])
    assert res.exit_code == 0, res.output
    assert f"{N} patients" in res.output
    df = load_manifest(load_study(study_dir))
    assert df["recurrence"].dtype == pl.Int64 and df.height == N


def test_unknown_key_names_key_and_file(study_dir: Path) -> None:
    cfg = yaml.safe_load((study_dir / "study.yaml").read_text())
    cfg["select"]["icc_treshold"] = 0.8
    (study_dir / "study.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"study\.yaml: unknown key 'select\.icc_treshold'"):
        load_study(study_dir / "study.yaml")
    res = runner.invoke(app, ["validate", str(study_dir / "study.yaml")])
    assert res.exit_code == 1
    assert "icc_treshold" in res.output and "Traceback" not in res.output


def test_bad_value_type_in_config(study_dir: Path) -> None:
    cfg = yaml.safe_load((study_dir / "study.yaml").read_text())
    cfg["seed"] = "abc"
    (study_dir / "study.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"study\.yaml: seed: "):
        load_study(study_dir)


def test_missing_column(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.drop("bmi"))
    assert ("-", "bmi", "missing column 'bmi' in manifest.csv") in _problems(study_dir)


def test_duplicate_patient(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.with_columns(
        pl.when(pl.col("patient_id") == "P002").then(pl.lit("P001")).otherwise(pl.col("patient_id"))
        .alias("patient_id")))
    assert ("P001", "patient_id", "duplicate patient_id") in _problems(study_dir)


def test_outcome_not_binary(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.with_columns(
        pl.when(pl.col("patient_id") == "P003").then(2).otherwise(pl.col("recurrence"))
        .alias("recurrence")))
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P003" and p[1] == "recurrence" and "got 2" in p[2]]


def test_outcome_one_class(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.with_columns(pl.lit(0).alias("recurrence")))
    assert any("only one class" in p[2] for p in _problems(study_dir))


def test_missing_file(study_dir: Path) -> None:
    (study_dir / "masks" / "rater2" / "P004_disc.nii.gz").unlink()
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P004" and p[1].endswith("P004_disc.nii.gz")
            and "not found" in p[2]]


def test_unreadable_file(study_dir: Path) -> None:
    (study_dir / "images" / "P005_muscle.nii.gz").write_bytes(b"not an image")
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P005" and "P005_muscle" in p[1] and "cannot read" in p[2]]


@pytest.mark.parametrize(
    "change, word",
    [
        (dict(arr_shape=(3, 16, 15)), "size"),
        (dict(spacing=(0.9, 0.8, 4.0)), "spacing"),
        (dict(origin=(5.0, 0.0, 0.0)), "origin"),
    ],
)
def test_geometry_mismatch(study_dir: Path, change: dict, word: str) -> None:
    shape = change.get("arr_shape", (3, 16, 16))
    m = np.zeros(shape, np.uint8)
    m[1, 4:8, 4:8] = 1
    _volume(m, study_dir / "masks" / "rater1" / "P001_disc.nii.gz",
            spacing=change.get("spacing", (0.8, 0.8, 4.0)), origin=change.get("origin", (0, 0, 0)))
    probs = _problems(study_dir)
    hit = [p for p in probs if p[0] == "P001" and "rater1/P001_disc" in p[1]]
    assert hit and f"mask geometry differs from image: {word}" in hit[0][2]


def test_direction_mismatch(study_dir: Path) -> None:
    path = study_dir / "masks" / "rater1" / "P002_disc.nii.gz"
    img = sitk.ReadImage(str(path))
    img.SetDirection((0, 1, 0, 1, 0, 0, 0, 0, 1))
    sitk.WriteImage(img, str(path))
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P002" and "direction" in p[2]]


def test_empty_mask(study_dir: Path) -> None:
    _volume(np.zeros((3, 16, 16), np.uint8), study_dir / "masks" / "rater2" / "P000_muscle.nii.gz")
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P000" and "rater2/P000_muscle" in p[1] and "empty mask" in p[2]]


def test_mask_label_not_in_config(study_dir: Path) -> None:
    m = np.zeros((3, 16, 16), np.uint8)
    m[1, 4:8, 4:8] = 1
    m[1, 9:12, 4:8] = 7
    _volume(m, study_dir / "masks" / "rater1" / "P003_disc.nii.gz")
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P003" and "labels [7] not in the config" in p[2]]


def test_too_few_slices(study_dir: Path) -> None:
    cfg = yaml.safe_load((study_dir / "study.yaml").read_text())
    cfg["rois"][0]["min_slices"] = 5
    (study_dir / "study.yaml").write_text(yaml.safe_dump(cfg))
    probs = _problems(study_dir)
    assert [p for p in probs if p[0] == "P000" and "3 slices" in p[2] and "at least 5" in p[2]]


def test_covariate_level_not_allowed(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.with_columns(
        pl.when(pl.col("patient_id") == "P001").then(pl.lit("VI")).otherwise(pl.col("pfirrmann"))
        .alias("pfirrmann")))
    assert [p for p in _problems(study_dir) if p[0] == "P001" and p[1] == "pfirrmann" and "'VI'" in p[2]]


def test_missing_covariates_error_then_complete_case(study_dir: Path) -> None:
    _edit_manifest(study_dir, lambda df: df.with_columns(
        pl.when(pl.col("patient_id").is_in(["P001", "P004"])).then(None).otherwise(pl.col("bmi"))
        .alias("bmi")))
    probs = _problems(study_dir)
    assert {p[0] for p in probs if p[1] == "bmi" and "missing covariate" in p[2]} == {"P001", "P004"}
    res = runner.invoke(app, ["validate", str(study_dir / "study.yaml")])
    assert res.exit_code == 1 and "P004" in res.output
    res = runner.invoke(app, ["validate", str(study_dir / "study.yaml"), "--complete-case"])
    assert res.exit_code == 0, res.output
    assert "dropped 2 patient(s)" in res.output and f"{N - 2} patients" in res.output


def test_cli_problem_table_and_exit_code(study_dir: Path) -> None:
    (study_dir / "images" / "P002_disc.nii.gz").unlink()
    res = runner.invoke(app, ["validate", str(study_dir)])
    assert res.exit_code == 1
    assert "P002" in res.output and "not found" in res.output and "Traceback" not in res.output


def test_missing_study_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 1 and "study file not found" in res.output
