"""`spinedlr demo --design fan2024`: two centres, an external cohort, a scanner shift.

A 60-patient study (40 training, 20 external) is generated once; properties that need many
patients to be seen (the latent AUC per centre, the case mix) use the generator's cohort
tables, which are drawn before and independently of the images. Proportions below are
copied from Fan et al. 2024, Table 2, not from the generator's constants.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.demo import fan2024
from spinedlr.demo.designs import Design, write_demo
from spinedlr.design.support import require_supported
from spinedlr.manifest import read_manifest, validate_study

N, SEED = 60, 0


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(float)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fan") / "study"
    write_demo(Design.fan2024, out, n=N, seed=SEED)
    return out


@pytest.fixture(scope="module")
def manifests(study) -> dict[str, pl.DataFrame]:
    return {"train": read_manifest(study / "manifest.csv"),
            "external": read_manifest(study / "external" / "manifest.csv")}


def test_config_and_both_cohorts_validate(study):
    s = load_study(study / "study.yaml")
    v = s.config.design.validation
    assert (v.scheme, v.manifest) == ("external", "external/manifest.csv")
    assert s.config.outcome == "surgery"
    assert {"odi", "pfirrmann", "slrt", "mmfi", "msu"} <= {c.name for c in s.config.covariates}
    assert validate_study(s, workers=1).problems == []
    # the external manifest's image paths resolve against its own folder, as every manifest's do
    ext = validate_study(s.override(None, "manifest", manifest=v.manifest), workers=1)
    assert ext.problems == [] and ext.manifest.height == N // 3
    # the external scheme runs (the external stage), the nine classifiers too (the compare stage)
    require_supported(load_study(study / "study.yaml"))


def test_manifests_and_truth_agree(study, manifests):
    train, ext = manifests["train"], manifests["external"]
    assert train.columns == ext.columns
    assert (train.height, ext.height) == (N - N // 3, N // 3)
    assert set(train["centre"]) == {"centre_1"} and set(ext["centre"]) == {"centre_2"}
    assert not set(train["patient_id"]) & set(ext["patient_id"])
    truth = pl.read_parquet(study / "truth.parquet")
    both = pl.concat([train, ext])
    assert truth["patient_id"].to_list() == both["patient_id"].to_list()
    assert truth["surgery"].to_list() == both["surgery"].to_list()
    # event rates of the paper's centres: 404/1066 and 47/191
    assert train["surgery"].sum() == round(404 / 1066 * train.height)
    assert ext["surgery"].sum() == round(47 / 191 * ext.height)
    for row in ext.head(3).iter_rows(named=True):
        assert row["disc_image"].startswith("images/E")  # relative to external/manifest.csv
        assert _array(study / "external" / row["disc_image"]).shape == (7, 96, 96)
        assert _array(study / "external" / row["muscle_mask_rater2"]).max() == 6


def _noise(img: np.ndarray) -> float:
    """Robust noise SD from in-plane neighbour differences (MAD; edges are rare)."""
    diff = np.diff(img, axis=2).ravel()
    return 1.4826 * np.median(np.abs(diff - np.median(diff))) / np.sqrt(2)


def test_external_scanner_shifts_intensity_and_noise(study, manifests):
    stats = {}
    for centre, m in manifests.items():
        folder = study / "external" if centre == "external" else study  # the manifest's folder
        imgs = [_array(folder / p) for p in m["disc_image"]]
        stats[centre] = (np.median([i.mean() for i in imgs]), np.median([_noise(i) for i in imgs]))
    (mean_t, noise_t), (mean_e, noise_e) = stats["train"], stats["external"]
    assert mean_e / mean_t < 0.93  # gain 0.78 plus an offset of 45
    assert noise_e / noise_t > 1.12  # extra noise SD 24 on Rician noise SD 14-22 (gain 0.78)


def test_latent_truth_discriminates_alike_in_both_centres(study):
    aucs = []
    for k, c in enumerate(fan2024.CENTRES):
        truth, clinical, _ = fan2024._cohort(SEED, k, c, 3000)
        y = truth["surgery"].to_numpy()
        aucs.append(roc_auc_score(y, truth["linear_predictor"]))
        msu = roc_auc_score(y, truth["msu_term"])
        assert 0.72 <= msu <= 0.85  # paper: MSU classification 0.894, the best clinical factor
        assert 0.5 < roc_auc_score(y, truth["odi_z"]) < 0.7  # paper: ODI 0.628
        assert roc_auc_score(y, truth["disc_heterogeneity"]) > 0.65
    assert min(aucs) > 0.85
    assert abs(aucs[0] - aucs[1]) < 0.03
    small = pl.read_parquet(study / "truth.parquet")
    for centre in ("centre_1", "centre_2"):
        part = small.filter(pl.col("centre") == centre)
        assert roc_auc_score(part["surgery"], part["linear_predictor"]) > 0.75


@pytest.mark.parametrize(
    "column, level, train_pct, external_pct",
    [("sex", "male", 49.53, 60.73), ("duration", "under_3m", 40.62, 54.97),
     ("mmfi", "severe", 13.51, 5.76), ("msu", "3B", 13.23, 8.38)],
)
def test_case_mix_differs_as_in_the_paper(column, level, train_pct, external_pct):
    for k, pct in enumerate((train_pct, external_pct)):
        _, clinical, _ = fan2024._cohort(SEED, k, fan2024.CENTRES[k], 1000)
        assert 100 * (clinical[column] == level).mean() == pytest.approx(pct, abs=0.3)


def test_mmfi_grade_follows_muscle_fat_in_the_image(study, manifests):
    m = manifests["train"]
    fat = [np.mean(_array(study / i)[_array(study / k) > 0])
           for i, k in zip(m["muscle_image"], m["muscle_mask_rater1"])]
    severe = m["mmfi"].to_numpy() == "severe"
    assert severe.any()
    assert np.mean(np.array(fat)[severe]) > np.mean(np.array(fat)[~severe])


def test_same_seed_same_bytes_and_cli(tmp_path):
    runner = CliRunner()
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        result = runner.invoke(app, ["demo", str(tmp_path / name), "--design", "fan2024",
                                     "--n", "12", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    a, b, c = (_hashes(tmp_path / x) for x in "abc")
    assert len(a) == 4 + 12 * 6  # yaml, two manifests, truth; 6 volumes per patient
    assert a == b
    assert sum(a[k] != c[k] for k in a if k.endswith(".nii.gz")) == 12 * 6
    result = runner.invoke(app, ["demo", str(tmp_path / "d"), "--design", "fan2024",
                                 "--events", "3"])
    assert result.exit_code == 1
    assert "--events applies to the reference design" in " ".join(result.output.split())
    result = runner.invoke(app, ["demo", str(tmp_path / "e"), "--design", "fan2024", "--n", "9"])
    assert result.exit_code == 1
    assert "at least 12 patients for two centres, got 9" in " ".join(result.output.split())
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()
