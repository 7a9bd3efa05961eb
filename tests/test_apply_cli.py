"""`spinedlr apply`: every bad input is one clear line, and nothing is written for it.

The study is the synthetic select study of test_select_stage (features only, no images), so
every case stops before extraction; the successful path is tests/test_apply_e2e.py.
"""

from dataclasses import replace

import polars as pl
import pytest
from test_select_stage import write_study
from typer.testing import CliRunner

from spinedlr.apply_cohort import cohort_study, read_cohort
from spinedlr.apply_model import load_frozen
from spinedlr.cli import app
from spinedlr.config import load_study


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("fitted")
    write_study(root, n=60, events=20, select={"validation_folds": 0})
    res = CliRunner().invoke(app, ["select", "run", str(root)])
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture(scope="module")
def radiomics_only(tmp_path_factory):
    """A study whose model reads no deep features (so it needs no trained network)."""
    root = tmp_path_factory.mktemp("radiomics")
    write_study(root, n=60, events=20, select={"validation_folds": 0, "families": ["radiomics"]})
    res = CliRunner().invoke(app, ["select", "run", str(root)])
    assert res.exit_code == 0, res.output
    return root


def _apply(root, manifest, out, *extra):
    return CliRunner().invoke(app, ["apply", str(root), str(manifest), "--out", str(out), *extra])


def _manifest(root, tmp_path, drop=(), name="cohort.csv", **replace):
    df = pl.read_csv(root / "manifest.csv").drop(list(drop)).with_columns(
        **{k: pl.lit(v) for k, v in replace.items()})
    df.write_csv(tmp_path / name)
    return tmp_path / name


def test_missing_columns_are_named(fitted, tmp_path):
    m = _manifest(fitted, tmp_path, drop=["disc_mask_rater1", "muscle_image"])
    res = _apply(fitted, m, tmp_path / "p.csv")
    assert res.exit_code == 1
    assert "missing column(s) disc_mask_rater1, muscle_image" in res.output
    assert not (tmp_path / "p.csv").exists()


def test_outcome_and_other_raters_are_optional_but_images_must_exist(radiomics_only, tmp_path):
    """Without the outcome and the second rater's masks the manifest is accepted; its image
    paths are then resolved against the manifest's folder, and a missing file is named."""
    root = radiomics_only
    m = _manifest(root, tmp_path, drop=["recurrence", "disc_mask_rater2", "muscle_mask_rater2"],
                  disc_image="scans/none.nii.gz")
    res = _apply(root, m, tmp_path / "p.csv")
    assert res.exit_code == 1
    assert "recurrence" not in res.output and "rater2" not in res.output
    missing = tmp_path / "scans" / "none.nii.gz"
    assert f"patient P000: {missing}: file not found" in res.output
    assert not (tmp_path / "p.csv").exists()
    cohort = pl.read_csv(root / "out" / "apply" / "cohort" / "manifest.csv")
    assert cohort["disc_image"][0] == str(tmp_path / "scans" / "none.nii.gz")


def test_missing_network_is_named_before_any_image_is_read(fitted, tmp_path):
    res = _apply(fitted, _manifest(fitted, tmp_path), tmp_path / "p.csv")
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "the model uses deep features, but the segmentation network(s)" in text
    assert "models/disc.pt" in text and not (tmp_path / "p.csv").exists()


def test_study_not_fitted(tmp_path):
    write_study(tmp_path, n=30, events=10)
    res = _apply(tmp_path, tmp_path / "manifest.csv", tmp_path / "p.csv")
    assert res.exit_code == 1
    assert "no fitted model yet; run `spinedlr run" in " ".join(res.output.split())


@pytest.mark.parametrize("out, message", [
    ("p.txt", "give a .csv or .parquet file name"),
    ("cohort.csv", "is the manifest itself"),
    ("{study}/out/radscores.parquet", "lies among the study's own outputs"),
])
def test_unsafe_or_unknown_output_is_refused(fitted, tmp_path, out, message):
    m = _manifest(fitted, tmp_path)
    res = _apply(fitted, m, tmp_path / out.format(study=fitted))
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())


def test_cohort_name_must_be_a_safe_folder_name(fitted, tmp_path):
    m = _manifest(fitted, tmp_path)
    res = _apply(fitted, m, tmp_path / "p.csv", "--name", "../escape")
    assert res.exit_code == 1
    assert "cohort name '../escape'" in res.output
    assert not (fitted / "out" / "escape").exists()


def test_unknown_manifest(fitted, tmp_path):
    res = _apply(fitted, tmp_path / "absent.csv", tmp_path / "p.csv")
    assert res.exit_code == 1
    assert "manifest not found" in res.output


def test_cohort_runs_the_study_settings_on_the_modelled_rater_only(fitted, tmp_path):
    """The cohort study: the new manifest, its own output folder, the study's networks, no
    outcome; and the deep crops of the fit (all slices only for the library rater)."""
    study = load_study(fitted)
    model = load_frozen(study)
    m = _manifest(fitted, tmp_path, drop=["recurrence"])
    folder = study.output / "apply" / "t"
    cohort = cohort_study(study, read_cohort(study, m, model), folder, model)
    cfg = cohort.config
    assert cohort.output == folder and not cohort.has_outcome and cfg.covariates == []
    assert cohort.manifest_path == folder / "manifest.csv"
    assert [r.masks for r in cfg.rois] == [{"rater1": "disc_mask_rater1"},
                                           {"rater1": "muscle_mask_rater1"}]
    assert cfg.extract.deep.model == str(study.output / "models" / "{roi}.pt")
    assert cfg.extract.deep_selection.enabled  # rater1 trains the network: its library crops
    other = cohort_study(study, read_cohort(study, m, replace(model, rater="rater2")), folder,
                         replace(model, rater="rater2"))
    assert not other.config.extract.deep_selection.enabled
    assert [r.masks for r in other.config.rois][0] == {"rater2": "disc_mask_rater2"}
