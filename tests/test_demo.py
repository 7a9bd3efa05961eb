"""The synthetic demo study: determinism, Table 1, raters, latent signal, anatomy, validity.

The 170-patient study is generated once per session (module fixture); the determinism test
uses a few patients. Table 1 numbers below are copied from the paper (Zhang et al. 2026,
Table 1, "Total" column), not from the generator's constants, so they check the generator.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.demo.generate import write_demo_study
from spinedlr.manifest import validate_study

N, EVENTS, SEED = 170, 39, 0


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def save_montage(study: Path, path: Path, patients: int = 4) -> None:
    """Mid and lateral sagittal disc slices and axial muscle slices with both raters' outlines."""
    manifest = pl.read_csv(study / "manifest.csv").head(patients)
    fig, axes = plt.subplots(3, patients, figsize=(3.2 * patients, 9.6))
    for j, row in enumerate(manifest.iter_rows(named=True)):
        disc = _array(study / row["disc_image"])
        muscle = _array(study / row["muscle_image"])
        for i, (img, roi, k) in enumerate(
            ((disc, "disc", disc.shape[0] // 2), (disc, "disc", 0), (muscle, "muscle", 2))
        ):
            ax = axes[i, j]
            ax.imshow(img[k], cmap="gray", aspect=1.0)
            for rater, colour in (("rater1", "red"), ("rater2", "cyan")):
                mask = _array(study / row[f"{roi}_mask_{rater}"])[k]
                levels = np.arange(0.5, mask.max() + 1)
                ax.contour(mask, levels=levels, colors=colour, linewidths=0.5)
            ax.set_title(f"{row['patient_id']} {roi} slice {k} (y={row['recurrence']})", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "study"
    write_demo_study(out, n=N, events=EVENTS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def manifest(study) -> pl.DataFrame:
    return pl.read_csv(study / "manifest.csv", schema_overrides={"patient_id": pl.Utf8})


@pytest.fixture(scope="module")
def truth(study) -> pl.DataFrame:
    return pl.read_parquet(study / "truth.parquet")


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_demo_study(tmp_path / name, n=5, events=2, seed=seed)
    a, b, c = (_hashes(tmp_path / x) for x in "abc")
    assert len(a) == 3 + 5 * 6  # yaml, csv, parquet, 6 volumes per patient
    assert a == b
    differ = [k for k in a if k.endswith(".nii.gz") and a[k] != c[k]]
    assert len(differ) == 5 * 6


@pytest.mark.parametrize(
    "args, message",
    [(["--n", "10", "--events", "10"], "--events must be between 1 and n - 1 = 9, got 10"),
     (["--n", "3", "--events", "1"], "--n must be at least 4 patients, got 3")],
)
def test_cli_rejects_impossible_cohorts(tmp_path, args, message):
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "d"), *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "d").exists()


def test_rewrite_replaces_a_larger_demo(tmp_path):
    write_demo_study(tmp_path, n=6, events=2, seed=1)
    write_demo_study(tmp_path, n=4, events=1, seed=1)
    assert len(list((tmp_path / "images").iterdir())) == 2 * 4
    assert validate_study(load_study(tmp_path / "study.yaml")).problems == []


def test_event_count_and_ids(manifest, truth):
    assert manifest.height == N
    assert manifest["recurrence"].sum() == EVENTS
    assert truth["recurrence"].sum() == EVENTS
    assert manifest["patient_id"].to_list() == [f"P{i:03d}" for i in range(1, N + 1)]
    assert truth["patient_id"].to_list() == manifest["patient_id"].to_list()


@pytest.mark.parametrize(
    "column, level, percent",
    [
        ("gender", "male", 57.65),
        ("smoking", "yes", 27.06),
        ("diabetes", "yes", 21.76),
        ("hypertension", "yes", 37.65),
        ("vas_pre", 5, 46.47),
        ("vas_pre", 6, 40.00),
        ("vas_post", 2, 78.82),
        ("occupation", "farmer", 42.35),
        ("occupation", "office_worker", 37.06),
        ("pfirrmann", "IV", 51.76),
        ("pfirrmann", "V", 10.59),
        ("modic", "II", 62.94),
        ("herniation_type", "herniation", 76.47),
        ("segment", "L5/S1", 33.53),
    ],
)
def test_table1_proportions(manifest, column, level, percent):
    observed = 100 * (manifest[column] == level).mean()
    assert observed == pytest.approx(percent, abs=1.0)


@pytest.mark.parametrize(
    "column, level, non_prldh, prldh",
    [
        ("gender", "male", 72, 26),
        ("diabetes", "yes", 25, 12),
        ("pfirrmann", "IV", 68, 20),
        ("modic", "III", 11, 6),
        ("herniation_type", "prolapse", 13, 1),
        ("segment", "L5/S1", 40, 17),
    ],
)
def test_table1_counts_by_group(manifest, column, level, non_prldh, prldh):
    """With the paper's 131 + 39 patients the per-group counts are the paper's."""
    counts = manifest.filter(pl.col(column) == level)["recurrence"].value_counts()
    got = dict(zip(counts["recurrence"].to_list(), counts["count"].to_list()))
    assert (got.get(0, 0), got.get(1, 0)) == (non_prldh, prldh)


@pytest.mark.parametrize(
    "column, mean, sd, mean_tol, sd_tol",
    [
        ("age", 58.44, 14.38, 2.5, 2.0),
        ("bmi", 24.65, 3.40, 0.6, 0.6),
        ("duration", 4.06, 6.08, 1.5, 2.5),
    ],
)
def test_table1_continuous(manifest, column, mean, sd, mean_tol, sd_tol):
    x = manifest[column].to_numpy()
    assert x.mean() == pytest.approx(mean, abs=mean_tol)
    assert x.std(ddof=1) == pytest.approx(sd, abs=sd_tol)
    assert x.min() > 0


def test_latent_signal_matches_paper(manifest, truth):
    y = truth["recurrence"].to_numpy()
    auc = {c: roc_auc_score(y, truth[c].to_numpy()) for c in ("disc_heterogeneity", "muscle_fat")}
    assert 0.78 <= auc["disc_heterogeneity"] <= 0.92  # paper: disc Radscore 0.857
    assert 0.64 <= auc["muscle_fat"] <= 0.80  # paper: muscle Radscore 0.718
    assert auc["disc_heterogeneity"] > auc["muscle_fat"]
    grade = manifest["pfirrmann"].replace_strict({"III": 3, "IV": 4, "V": 5}).to_numpy()
    assert abs(roc_auc_score(y, grade) - 0.5) < 0.03  # paper: Pfirrmann 0.506
    duration = manifest["duration"].to_numpy()
    assert duration[y == 1].mean() > duration[y == 0].mean()  # paper: 6.05 vs 3.46 years


def test_images_carry_the_latents(study, manifest, truth):
    """Disc texture (intensity CV) tracks heterogeneity, not its mean; muscle signal tracks fat."""
    rows = manifest.head(50)
    disc_cv, disc_mean, muscle_mean = [], [], []
    for row in rows.iter_rows(named=True):
        img = _array(study / row["disc_image"]).astype(float)
        v = img[_array(study / row["disc_mask_rater1"]) > 0]
        disc_cv.append(v.std() / v.mean())
        disc_mean.append(v.mean())
        img = _array(study / row["muscle_image"]).astype(float)
        muscle_mean.append(img[_array(study / row["muscle_mask_rater1"]) > 0].mean())
    h, m = truth["disc_heterogeneity"][:50], truth["muscle_fat"][:50]
    assert spearmanr(disc_cv, h).statistic > 0.5
    assert abs(spearmanr(disc_mean, h).statistic) < 0.3
    assert spearmanr(muscle_mean, m).statistic > 0.8


def test_raters_disagree_like_raters(study, manifest):
    """Inter-rater Dice 0.85-0.97 per ROI and label; outlines differ, never wildly."""
    per_roi: dict[str, list[float]] = {"disc": [], "muscle": []}
    per_label: dict[int, list[float]] = {}
    for row in manifest.head(40).iter_rows(named=True):
        for roi in per_roi:
            a = _array(study / row[f"{roi}_mask_rater1"])
            b = _array(study / row[f"{roi}_mask_rater2"])
            assert not np.array_equal(a, b)
            per_roi[roi].append(_dice(a > 0, b > 0))
            if roi == "muscle":
                assert set(np.unique(a)) == set(np.unique(b)) == set(range(7))
                for lab in range(1, 7):
                    per_label.setdefault(lab, []).append(_dice(a == lab, b == lab))
    for roi, d in per_roi.items():
        assert 0.85 <= np.mean(d) <= 0.97, roi
        assert min(d) > 0.75, roi
    for lab, d in per_label.items():
        assert 0.85 <= np.mean(d) <= 0.97, lab


def test_anatomy_is_where_it_belongs(study, manifest):
    """Left/right, anterior/posterior and slice coverage of the labelled structures."""
    row = manifest.row(0, named=True)
    muscle = _array(study / row["muscle_mask_rater1"])
    centre = {lab: np.argwhere(muscle == lab).mean(axis=0) for lab in range(1, 7)}  # (z, y, x)
    for left, right in ((1, 2), (3, 4), (5, 6)):  # LPS: +x is the patient's left
        assert centre[left][2] > centre[right][2]
    for side in (0, 1):
        multifidus, erector, psoas = (centre[lab + side] for lab in (1, 3, 5))
        assert abs(erector[2] - 48) > abs(multifidus[2] - 48)  # erector spinae lateral
        assert psoas[1] < multifidus[1] - 15  # psoas anterior to the paraspinal muscles
    image = sitk.ReadImage(str(study / row["disc_image"]))
    assert image.GetSpacing() == pytest.approx((0.8, 0.8, 4.0))
    disc = _array(study / row["disc_mask_rater1"])
    assert all(sl.any() for sl in disc)  # every sagittal slice cuts the disc
    img = _array(study / row["disc_image"]).astype(float)
    mid = img.shape[0] // 2
    rows = np.flatnonzero(disc[mid].any(axis=1))
    above = img[mid, rows.min() - 12 : rows.min() - 4, 20:45].mean()  # upper vertebral marrow
    csf = img[mid, rows.min() - 12 : rows.max() + 12, 63:70].mean()  # thecal sac
    assert csf > above  # T2: CSF brighter than marrow


def test_demo_study_validates(study):
    v = validate_study(load_study(study / "study.yaml"))
    assert v.problems == []
    assert v.manifest.height == N


def test_montage(study, tmp_path):
    """Save a montage for a human to look at (sagittal disc, axial muscle, both raters)."""
    path = tmp_path / "demo_montage.png"
    save_montage(study, path)
    png = plt.imread(path)
    assert png.shape[0] > 500 and png.shape[1] > 800
    assert png[..., :3].std() > 0.1  # not blank
