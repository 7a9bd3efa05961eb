"""Pfirrmann grading pieces (spinedlr.grading, select.multinomial_lasso) against known answers:
the disc segmentation on a drawn crop, the LASSO selector's leakage gap, patient-disjoint
splits, the R metrics against scikit-learn, and the real crops' grade signal (skipped when
../shared is absent)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spinedlr.design.splits import LeaveOneGroupOutByPatient, PatientKFold
from spinedlr.grading import features as gf
from spinedlr.grading import metrics
from spinedlr.grading.fit import MODELS, cross_val_proba
from spinedlr.grading.holdout import holdout_roles
from spinedlr.select.multinomial_lasso import MultinomialLassoSelector

needs_data = pytest.mark.skipif(not (gf.DATA_DIR / "discs.csv").exists(),
                                reason="../shared/data/spider_pfirrmann is absent")


def drawn_crop() -> np.ndarray:
    """40 x 60 crop: bone (100) with dark endplate lines (10) on rows 10 and 29 and a disc
    (200) strictly between them; the disc is rows 11..28, 18 rows tall."""
    img = np.full((40, 60), 100.0)
    img[10] = img[29] = 10.0
    img[11:29] = 200.0
    return img


def test_percentile_scale_maps_percentiles_to_unit_interval():
    img = np.arange(101, dtype=float).reshape(1, -1)  # percentiles equal the values
    out = gf.percentile_scale(img)
    assert out[0, 1] == pytest.approx(0.0) and out[0, 99] == pytest.approx(1.0)
    assert out[0, 50] == pytest.approx(49 / 98)
    assert out.min() == 0.0 and out.max() == 1.0  # clipped outside


def test_disc_mask_finds_the_band_between_endplates():
    mask, heights = gf.disc_mask(drawn_crop())
    cols = np.flatnonzero(mask.any(axis=0))
    assert cols[0] == 9 and cols[-1] == 50  # middle 70 % of 60 columns: 9..50
    assert np.array_equal(np.flatnonzero(mask[:, 30]), np.arange(11, 29))
    assert np.all(heights == 18)
    nucleus = gf.nucleus_mask(mask)
    assert nucleus.sum() < mask.sum() and not (nucleus & ~mask).any()


def test_disc_features_on_drawn_crop():
    f = gf.disc_features(drawn_crop())
    assert f["height_rel"] == pytest.approx(18 / 40)
    assert f["height_cv"] == pytest.approx(0.0)
    assert f["nucleus_mean"] == pytest.approx(1.0)  # the disc is the top percentile
    assert f["bone_median"] == pytest.approx((100 - 10) / (200 - 10))


def test_baseline_features_known_values():
    img = np.zeros((30, 30))
    img[10:20, 10:20] = 90.0  # the centre third is exactly the bright square
    f = gf.baseline_features(img)
    assert len(f) == 16
    assert f["base_centre_mean"] == 90.0 and f["base_centre_sd"] == 0.0
    assert f["base_crop_mean"] == pytest.approx(10.0) and f["base_crop_max"] == 90.0


def five_class(n: int, p: int, informative: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    X = rng.normal(size=(n, p))
    X[:, :informative] += 1.5 * y[:, None]
    return X, y


def test_multinomial_lasso_keeps_the_informative_features():
    X, y = five_class(200, 40, 3, 0)
    sel = MultinomialLassoSelector(C=0.05, max_features=3).fit(X, y)
    assert set(np.flatnonzero(sel.get_support())) == {0, 1, 2}
    assert sel.transform(X).shape == (200, 3)


def test_lasso_inside_folds_removes_the_leakage_gap():
    """Noise only: selecting on all rows and then cross-validating reports skill that is
    not there; the same selector inside the CV pipeline reports chance."""
    X, y = five_class(150, 300, 0, 1)
    groups = np.repeat(np.arange(50), 3)
    cv = list(PatientKFold(5, random_state=0).split(X, y, groups))
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    leaked = MultinomialLassoSelector(C=0.5, max_features=10).fit(X, y).transform(X)
    p_leak = cross_val_predict(clf, leaked, y, cv=cv, method="predict_proba")
    inside = make_pipeline(MultinomialLassoSelector(C=0.5, max_features=10), clf)
    p_in = cross_val_predict(inside, X, y, cv=cv, method="predict_proba")
    auc_leak = roc_auc_score(y, p_leak, multi_class="ovr")
    auc_in = roc_auc_score(y, p_in, multi_class="ovr")
    assert auc_leak > 0.62 and auc_in < 0.58


def fake_table(seed: int = 0, patients: int = 30) -> pl.DataFrame:
    """Five discs per patient, grade-dependent baseline features, three scanners."""
    rng = np.random.default_rng(seed)
    grade = rng.integers(1, 6, patients * 5)
    cols = {f"base_f{i}": -grade * (i % 3) + rng.normal(0, 2, grade.size) for i in range(16)}
    return pl.DataFrame({"patient_id": np.repeat([f"P{i:02d}" for i in range(patients)], 5),
                         "pfirrmann": grade, gf.SCANNER: np.repeat(np.arange(patients) % 3, 5).astype(str),
                         **cols})


def _patients(t: pl.DataFrame, rows: np.ndarray) -> set[str]:
    return set(t[rows]["patient_id"].to_list())


def test_grouped_splits_never_share_patients():
    t = fake_table()
    roles = holdout_roles(t, seed=3)
    sets = [_patients(t, roles[r]) for r in ("train", "validation", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(len(s) for s in sets) == 30
    y, g = t["pfirrmann"].to_numpy(), t["patient_id"].to_numpy()
    for splitter in (PatientKFold(5, random_state=0), LeaveOneGroupOutByPatient(t[gf.SCANNER].to_list())):
        for train, test in splitter.split(None, y, g):
            assert not _patients(t, train) & _patients(t, test)


def test_cross_val_proba_covers_every_row_once():
    t = fake_table(1)
    P, tests = cross_val_proba(MODELS["baseline_lr"], t, PatientKFold(5, random_state=0))
    assert np.sort(np.concatenate(tests)).tolist() == list(range(t.height))
    assert np.allclose(P.sum(axis=1), 1.0)


def test_metrics_agree_with_sklearn():
    rng = np.random.default_rng(5)
    y = rng.integers(1, 6, 90)
    P = rng.dirichlet(np.ones(5), 90)
    P[np.arange(90), y - 1] += 0.4
    P /= P.sum(axis=1, keepdims=True)
    h = metrics.headline(y, P)
    assert h["macro_auroc"] == pytest.approx(roc_auc_score(y, P, multi_class="ovr"), abs=1e-12)
    high = P[:, 3:].sum(axis=1)
    assert h["binary_auroc"] == pytest.approx(roc_auc_score(y >= 4, high), abs=1e-12)
    b = metrics.binary(y, P).to_dicts()
    est = {r["metric"]: r["estimate"] for r in b}
    assert est["sensitivity"] == pytest.approx(np.mean(high[y >= 4] >= 0.5))
    assert est["specificity"] == pytest.approx(np.mean(high[y < 4] < 0.5))


@needs_data
def test_real_t2_disc_brightness_falls_with_grade():
    """The README's quality check, through our segmentation: on T2 the nucleus-to-bone
    ratio of the segmented disc falls with the Pfirrmann grade."""
    m = gf.load_manifest().filter(pl.col("sequence") == "t2").head(80)
    ratio = [gf.disc_features(gf.load_crop(gf.DATA_DIR / f))["nucleus_to_bone"] for f in m["file"]]
    assert spearmanr(ratio, m["pfirrmann"]).statistic < -0.5


@needs_data
def test_real_crop_radiomics_in_the_disc():
    f = gf.load_manifest()["file"][0]
    rad = gf.radiomics_features(gf.load_crop(gf.DATA_DIR / f))
    assert len(rad) > 90 and all(np.isfinite(list(rad.values())))
    assert 0 < rad["rad_shape2D_PixelSurface"] < gf.load_crop(gf.DATA_DIR / f).size


def test_ordinal_polr_through_r_is_ordered():
    """Proportional odds on one informative feature: probabilities sum to one and the
    expected grade rises with the feature (monotone, as the model implies)."""
    from spinedlr.grading.fit import OrdinalPolr

    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    y = np.digitize(x + rng.logistic(scale=0.3, size=200), [-1.0, -0.3, 0.3, 1.0])
    grid = np.linspace(-2, 2, 9)[:, None]
    P = OrdinalPolr().fit(x[:, None], y).predict_proba(grid)
    assert np.allclose(P.sum(axis=1), 1.0)
    assert np.all(np.diff(P @ np.arange(5)) > 0)


def test_holdout_reports_bootstrap_intervals_on_disjoint_roles():
    from spinedlr.grading.holdout import holdout

    t = fake_table(4, patients=40)
    res = holdout(MODELS["baseline_lr"], t, seed=0, B=20)
    assert sum(res["n_patients"].values()) == 40
    for label in ("uncalibrated", "calibrated"):
        macro = next(r for r in res[label]["multiclass"] if r["metric"] == "macro_auroc")
        assert macro["lower"] <= macro["estimate"] <= macro["upper"] and macro["n_boot"] > 0
        assert {r["metric"] for r in res[label]["binary"]} == {"auroc", "sensitivity", "specificity"}


def test_binary_probs_sum_grades_and_stay_in_unit_interval():
    P = np.array([[0.1, 0.2, 0.3, 0.25, 0.15], [0.0, 0.0, 0.0, 0.6, 0.4 + 1e-15]])
    B = metrics.binary_probs(P)
    assert B[0] == pytest.approx([0.6, 0.4]) and B[1].tolist() == [0.0, 1.0]


def _memorising_table(patients: int = 60, seed: int = 0) -> pl.DataFrame:
    """Three near-identical discs per patient and a grade drawn per patient, independent of
    the features: only having seen the patient predicts its grade."""
    rng = np.random.default_rng(seed)
    grade = np.repeat(rng.permutation(np.arange(patients) % 5 + 1), 3)
    X = np.repeat(rng.normal(size=(patients, 4)), 3, axis=0) + rng.normal(0, 0.01, (3 * patients, 4))
    return pl.DataFrame({"patient_id": np.repeat([f"P{i:02d}" for i in range(patients)], 3),
                         "pfirrmann": grade, **{f"base_f{i}": X[:, i] for i in range(4)}})


def _nearest_neighbour():
    """A grading model that memorises: 1-NN on the baseline columns, nothing to search."""
    from sklearn.neighbors import KNeighborsClassifier

    from spinedlr.grading.fit import GradingModel

    return GradingModel("nn1", ("baseline",), lambda columns, seed: make_pipeline(KNeighborsClassifier(1)), {})


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
def test_out_of_fold_calibration_sees_each_patient_only_from_other_patients():
    """isotonic_cv on a model that memorises patients: its out-of-fold predictions come from
    other patients, so they are right at chance only and the map flattens the 1-NN's 0/1
    probabilities towards the grades' shares. Out-of-fold predictions split by disc (a
    patient's twin discs on both sides) look perfect and keep them at 0/1: the check fails."""
    from sklearn.model_selection import KFold

    from spinedlr.design.calibration import calibrate_out_of_fold
    from spinedlr.grading.fit import N_CLASSES, design_matrix
    from spinedlr.grading.holdout import fit_calibrated

    t, model = _memorising_table(), _nearest_neighbour()
    roles = holdout_roles(t, seed=0)
    fitted, cal = fit_calibrated(model, t, roles["train"], roles["validation"], "isotonic_cv")
    Xt, _, _ = design_matrix(model, t[roles["test"]])
    assert fitted.predict_proba(Xt).max(axis=1).min() == 1.0  # the model alone: certain
    P = cal.predict_proba(Xt)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-9)
    assert P.max(axis=1).mean() < 0.5
    rows = t[np.sort(np.concatenate([roles["train"], roles["validation"]]))]
    by_disc, _ = cross_val_proba(model, rows, KFold(5, shuffle=True, random_state=0))
    leaky = calibrate_out_of_fold(fitted.best_estimator_, by_disc, design_matrix(model, rows)[1], "isotonic_cv")
    assert leaky.predict_proba(Xt).max(axis=1).mean() > 0.9
    assert P.shape == (len(Xt), N_CLASSES)


@pytest.mark.parametrize("method", ["isotonic", "isotonic_cv"])
def test_calibrated_holdout_model_never_sees_the_test_patients(method):
    """The test patients' grades play no part: shuffling them leaves every prediction equal."""
    from spinedlr.grading.fit import design_matrix
    from spinedlr.grading.holdout import fit_calibrated

    t, model = _memorising_table(seed=1), _nearest_neighbour()
    roles = holdout_roles(t, seed=0)
    grades = t["pfirrmann"].to_numpy().copy()
    grades[roles["test"]] = np.random.default_rng(0).permutation(grades[roles["test"]])
    shuffled = t.with_columns(pl.Series("pfirrmann", grades))
    Xt, _, _ = design_matrix(model, t[roles["test"]])
    P = [fit_calibrated(model, tab, roles["train"], roles["validation"], method)[1].predict_proba(Xt)
         for tab in (t, shuffled)]
    np.testing.assert_array_equal(P[0], P[1])
