"""`spinedlr demo --design zou2025`: three centres, CT in HU + T1/T2 MRI, surgeons.

A 40-patient study is generated once; the surgeons' agreement and accuracy, which need many
patients to be estimated, use the generator's cohort table (drawn before the images). The
reference demo is pinned here too: its voxels and manifest must not change when the demo
helpers it shares with the other designs do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
from scipy import ndimage
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, cohen_kappa_score, roc_auc_score
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study, parse_config
from spinedlr.demo import zou2025
from spinedlr.demo.designs import Design, write_demo
from spinedlr.manifest import read_manifest, validate_study

N, SEED = 40, 0
# voxels, geometry and manifest of `spinedlr demo --n 5 --events 2 --seed 7` as main wrote
# them before the designs were added (update only for a deliberate change of the phantom)
REFERENCE_DIGEST = "a2a4053b165f884c52ef412a20e68651d7ff7b34034527f472b9bb8cfc283b20"


def _image(path: Path) -> sitk.Image:
    return sitk.ReadImage(str(path))


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(_image(path)).astype(float)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zou") / "study"
    write_demo(Design.zou2025, out, n=N, seed=SEED)
    return out


@pytest.fixture(scope="module")
def manifest(study) -> pl.DataFrame:
    return read_manifest(study / "manifest.csv")


def test_config_validates_with_several_images_and_rois(study):
    s = load_study(study / "study.yaml")
    v = s.config.design.validation
    assert (v.scheme, v.train, v.validation, v.test, v.stratify) == ("fixed", 0.7, 0.2, 0.1, True)
    rois = {r.name: r for r in s.config.rois}
    assert list(rois) == ["vb_ct", "vb_mr", "disc", "muscle"]
    assert [n for n, _, _ in rois["vb_mr"].image_columns()] == ["t2", "t1"]
    assert rois["vb_ct"].image == "ct_image" and rois["muscle"].plane == "axial"
    assert validate_study(s, workers=1).problems == []
    # the centre-column variant of the split is one edit of the same file
    data = s.config.model_dump(mode="json")
    data["design"]["validation"] = {"scheme": "by_column", "column": "centre", "roles": {
        "centre_1": "train", "centre_2": "validation", "centre_3": "test"}}
    assert parse_config(data, s.path).design.validation.roles["centre_3"] == "test"


def test_manifest_truth_and_centres(study, manifest):
    truth = pl.read_parquet(study / "truth.parquet")
    assert truth["patient_id"].to_list() == manifest["patient_id"].to_list()
    assert truth["subsidence"].to_list() == manifest["subsidence"].to_list()
    assert manifest["subsidence"].sum() == round(75 / 305 * N)
    sizes = manifest["centre"].value_counts().sort("centre")["count"].to_list()
    assert sizes == [28, 8, 4]  # 214 : 61 : 30 of the paper
    for col in ("surgeon_a", "surgeon_b"):
        assert set(manifest[col]) <= {0, 1}
    assert {"age", "sex", "bmi", "osteoporosis", "segments", "diagnosis"} <= set(manifest.columns)


def test_images_share_geometry_with_their_masks(study, manifest):
    row = manifest.row(0, named=True)
    ct, t1, t2 = (_image(study / row[f"{k}_image"]) for k in ("ct", "t1", "t2"))
    assert ct.GetSpacing() == pytest.approx((0.8, 0.8, 2.5))
    assert t1.GetSpacing() == t2.GetSpacing() == pytest.approx((0.8, 0.8, 4.0))
    assert t1.GetSize() == t2.GetSize() == (96, 96, 7) and ct.GetSize() == (96, 96, 9)
    for roi, image in (("vb_ct", "ct"), ("vb_mr", "t2"), ("disc", "t2"), ("muscle", "axial")):
        mask = _image(study / row[f"{roi}_mask_rater1"])
        assert mask.GetSize() == _image(study / row[f"{image}_image"]).GetSize()
    assert set(np.unique(_array(study / row["vb_mr_mask_rater2"]))) == {0, 1, 2}
    assert set(np.unique(_array(study / row["disc_mask_rater2"]))) == {0, 1}


def test_ct_in_hounsfield_units_and_osteoporotic_bone_less_dense(study, manifest):
    truth = pl.read_parquet(study / "truth.parquet")
    hu = []
    for row in manifest.iter_rows(named=True):
        ct = _array(study / row["ct_image"])
        assert -300 < ct.min() and ct.max() < 1200  # fat ... cortical bone, no air
        inner = ndimage.binary_erosion(_array(study / row["vb_ct_mask_rater1"]) > 0,
                                       iterations=3)  # trabecular bone, cortex excluded
        hu.append(ct[inner].mean())
        soft = ct[:, :8, :8]  # prevertebral soft tissue/fat corner
        assert -120 < np.median(soft) < 80
    hu = np.array(hu)
    assert 0 < hu.min() and hu.max() < 300
    porotic = manifest["osteoporosis"].to_numpy() == "yes"
    assert hu[~porotic].mean() - hu[porotic].mean() > 40
    assert spearmanr(hu, truth["bone_density"]).statistic > 0.8


def test_mr_marrow_fattier_when_bone_is_thin(study, manifest):
    truth = pl.read_parquet(study / "truth.parquet")
    t1 = [np.median(_array(study / r["t1_image"])[_array(study / r["vb_mr_mask_rater1"]) > 0])
          for r in manifest.iter_rows(named=True)]
    assert spearmanr(t1, truth["bone_density"]).statistic < -0.4


def test_raters_disagree_like_raters(study, manifest):
    for roi in ("vb_ct", "vb_mr", "disc"):
        dice = []
        for row in manifest.head(10).iter_rows(named=True):
            a, b = (_array(study / row[f"{roi}_mask_{r}"]) > 0 for r in ("rater1", "rater2"))
            assert not np.array_equal(a, b)
            dice.append(_dice(a, b))
        assert 0.82 <= np.mean(dice) <= 0.98, roi


def test_surgeons_agree_moderately_and_trail_the_truth():
    truth, _ = zou2025._cohort(SEED, 3000)
    y = truth["subsidence"].to_numpy()
    a, b = truth["surgeon_a"].to_numpy(), truth["surgeon_b"].to_numpy()
    assert 0.5 <= cohen_kappa_score(a, b) <= 0.7
    lp = truth["linear_predictor"].to_numpy()
    truth_acc = accuracy_score(y, lp > 0)
    for call in (a, b):
        assert accuracy_score(y, call) < truth_acc - 0.1
        assert 0.52 < roc_auc_score(y, call) < 0.7  # paper: surgeons 0.53-0.76
    assert roc_auc_score(y, lp) > 0.85
    assert roc_auc_score(y, truth["osteoporosis_yes"]) > 0.6  # the paper's clinical factor


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.name.endswith(".nii.gz"):
            img = _image(p)
            h.update(sitk.GetArrayFromImage(img).tobytes())
            h.update(repr((img.GetSpacing(), img.GetDirection())).encode())
        elif p.suffix == ".csv":
            h.update(p.read_bytes())
    return h.hexdigest()


def test_determinism_and_the_reference_demo_unchanged(tmp_path):
    runner = CliRunner()
    for name, seed in (("a", 5), ("b", 5)):
        result = runner.invoke(app, ["demo", str(tmp_path / name), "--design", "zou2025",
                                     "--n", "20", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert (tmp_path / "a" / "truth.parquet").read_bytes() == \
        (tmp_path / "b" / "truth.parquet").read_bytes()
    result = runner.invoke(app, ["demo", str(tmp_path / "ref"), "--n", "5", "--events", "2",
                                 "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert _digest(tmp_path / "ref") == REFERENCE_DIGEST
