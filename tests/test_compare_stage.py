"""End to end: `spinedlr run --report` of a small fan2024 demo with the compare stage.

The demo's own study.yaml (nine classifiers, external cohort) must pass the design check;
the run then uses three quick classifiers and fast settings (as tests/test_external_stage.py)
to stay within a few minutes. Checked against independent computations: every AUC of the
comparison is sklearn's AUC of the predictions it wrote, the vote is recomputed, the external
Radscore of the nomogram is the frozen model's (external stage's) linear predictor, the
nomogram's external risks are those of a maximum-likelihood logistic regression refitted here
by scipy on the exported training rows, the models' calibration is that of statsmodels'
unpenalised logistic regressions on logit(risk) and of a Hosmer-Lemeshow test and decision
curve computed here with numpy, and the latent-truth table is sklearn's AUC of the demo's
truth. The report is opened in headless Chromium and its numbers compared with the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import chi2, norm
from sklearn.metrics import roc_auc_score

from browser_helpers import CHROMEDRIVER, CHROMIUM, chromium, ci_text, table_rows
from fan_helpers import cli, fast_fan_demo
from spinedlr.config import load_study

MODELS = ["lr", "knn", "decision_tree"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("compare") / "fan"
    res = cli("run", str(fast_fan_demo(d, MODELS, {"age", "pfirrmann", "odi"})), "--report")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return d


def _table(study: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(study / "out" / "compare" / f"{name}.parquet")


def test_every_classifier_and_feature_set_with_aucs_of_its_own_predictions(study: Path) -> None:
    summary, pred = _table(study, "classifiers"), _table(study, "predictions")
    assert set(summary["model"]) == set(MODELS)
    assert set(summary["feature_set"]) == {"radiomics", "deep", "fused"}
    assert summary.height == 3 * len(MODELS) * 2
    ext_ids = pl.read_parquet(study / "out" / "external" / "predictions.parquet")["patient_id"]
    for row in summary.iter_rows(named=True):
        part = pred.filter((pl.col("feature_set") == row["feature_set"]) & (pl.col("model") == row["model"])
                           & (pl.col("cohort") == row["cohort"]))
        assert row["auc"] == pytest.approx(roc_auc_score(part["outcome"], part["probability"]), abs=1e-12)
        assert row["auc_lower"] <= row["auc"] <= row["auc_upper"]
        assert part.height == (16 if row["cohort"] == "external" else 32)
        if row["cohort"] == "external":
            assert part["patient_id"].to_list() == ext_ids.cast(pl.String).to_list()
    cv = summary.filter(pl.col("cohort") == "cv")
    votes = {m: 0 for m in MODELS}
    for _, part in cv.group_by("feature_set"):
        for m in part.sort(["auc", "model"], descending=[True, False])["model"][:3]:
            votes[m] += 1
    vote = _table(study, "vote")
    assert dict(zip(vote["model"], vote["votes"])) == votes
    delong = _table(study, "delong")
    assert delong["cohort"].unique().sort().to_list() == ["cv", "external"]


def _ml_logistic(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    X1 = np.column_stack([np.ones(len(y)), X])
    nll = lambda b: np.sum(np.logaddexp(0, X1 @ b) - y * (X1 @ b))  # noqa: E731
    grad = lambda b: X1.T @ (expit(X1 @ b) - y)  # noqa: E731
    return minimize(nll, np.zeros(X1.shape[1]), jac=grad, method="BFGS", options={"gtol": 1e-10}).x


def test_nomogram_is_frozen_and_matches_an_independent_logistic_fit(study: Path) -> None:
    scores = _table(study, "nomogram_scores")
    ext = scores.filter(pl.col("cohort") == "external")
    frozen = pl.read_parquet(study / "out" / "external" / "predictions.parquet")
    assert ext["patient_id"].to_list() == frozen["patient_id"].cast(pl.String).to_list()
    np.testing.assert_allclose(ext["radscore"], logit(frozen["prob_1"].to_numpy()), atol=1e-8)
    terms = _table(study, "nomogram_terms")["predictor"].to_list()
    data = _table(study, "nomogram_data")
    assert data["patient_id"].to_list() == scores.filter(pl.col("cohort") == "training")["patient_id"].to_list()
    numeric = [t for t in terms if data.schema[t].is_numeric()]
    assert numeric == terms, "the small demo selects no categorical factor; extend the check if it does"
    b = _ml_logistic(data.select(terms).to_numpy(), data["outcome"].to_numpy())
    manifest = pl.read_csv(study / "external" / "manifest.csv", schema_overrides={"patient_id": pl.String})
    X_ext = ext.select("patient_id", "radscore").join(manifest, on="patient_id", how="left",
                                                      maintain_order="left").select(terms).to_numpy()
    np.testing.assert_allclose(ext["risk"], expit(b[0] + X_ext @ b[1:]), atol=1e-5)
    auc = _table(study, "nomogram_auc").filter((pl.col("model") == "nomogram") & (pl.col("cohort") == "external"))
    assert auc["auc"][0] == pytest.approx(roc_auc_score(ext["outcome"], ext["risk"]), abs=1e-12)


def _model_risks(study: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every cohort's risks of the Radscore (expit of the frozen linear predictor), the nomogram
    and, when factors were selected, the clinical model refitted here on the exported rows."""
    scores, data = _table(study, "nomogram_scores"), _table(study, "nomogram_data")
    factors = _table(study, "nomogram_terms")["predictor"].to_list()[1:]
    manifests = {"training": study / "manifest.csv", "external": study / "external" / "manifest.csv"}
    out = {}
    for (cohort,), part in scores.group_by("cohort", maintain_order=True):
        out[cohort] = {"radscore": expit(part["radscore"].to_numpy()), "nomogram": part["risk"].to_numpy()}
        if factors:
            b = _ml_logistic(data.select(factors).to_numpy(), data["outcome"].to_numpy())
            m = pl.read_csv(manifests[cohort], schema_overrides={"patient_id": pl.String})
            X = part.select("patient_id").join(m, on="patient_id", how="left", maintain_order="left")
            out[cohort]["clinical"] = expit(b[0] + X.select(factors).to_numpy() @ b[1:])
    return out


def _hosmer_lemeshow(y: np.ndarray, p: np.ndarray, g: int) -> tuple[float, int, float, np.ndarray]:
    """HL chi2, df, P and each patient's group: quantile breaks (R's type 7), right-closed
    groups with the lowest closed, as R's cut(include.lowest = TRUE)."""
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, g + 1)))
    group = np.clip(np.searchsorted(breaks, p, side="left") - 1, 0, len(breaks) - 2)
    stat = 0.0
    for k in np.unique(group):
        o, e, n = y[group == k].sum(), p[group == k].sum(), (group == k).sum()
        stat += (o - e) ** 2 / (e * (1 - e / n))
    df = len(np.unique(group)) - 2
    return stat, df, chi2.sf(stat, df), group


def _check_net_benefit(dca: pl.DataFrame, y: np.ndarray, p: np.ndarray, thresholds: list[float]) -> None:
    """Net benefit (TP - FP t / (1 - t)) / n, a patient treated when the risk >= t."""
    for t in thresholds:
        tp, fp = np.sum((p >= t) & (y == 1)), np.sum((p >= t) & (y == 0))
        nb = dca.filter((pl.col("threshold") - t).abs() < 1e-12)["net_benefit"]
        assert nb.to_list() == [pytest.approx((tp - fp * t / (1 - t)) / len(y), abs=1e-12)]


def test_models_calibration_equals_independent_fits(study: Path) -> None:
    import statsmodels.api as sm

    cfg = load_study(study / "study.yaml").config.evaluate
    z = norm.ppf(1 - (1 - cfg.conf_level) / 2)
    cal, curve = _table(study, "models_calibration"), _table(study, "models_calibration_curve")
    dca = _table(study, "models_decision_curve")
    outcome = {c: part["outcome"].cast(pl.Int64).to_numpy()
               for (c,), part in _table(study, "nomogram_scores").group_by("cohort", maintain_order=True)}
    risks = _model_risks(study)
    assert sorted(zip(cal["cohort"], cal["model"])) == sorted((c, m) for c in risks for m in risks[c])
    for c, by_model in risks.items():
        y = outcome[c]
        for m, p in by_model.items():
            row = cal.filter((pl.col("cohort") == c) & (pl.col("model") == m)).row(0, named=True)
            slope = sm.Logit(y, sm.add_constant(logit(p))).fit(disp=0, method="newton", tol=1e-12)
            citl = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=logit(p)).fit(tol=1e-12)
            assert row["slope"] == pytest.approx(slope.params[1], abs=1e-5)
            assert row["slope_lower"] == pytest.approx(slope.params[1] - z * slope.bse[1], abs=1e-5)
            assert row["intercept"] == pytest.approx(citl.params[0], abs=1e-6)
            assert row["intercept_upper"] == pytest.approx(citl.params[0] + z * citl.bse[0], abs=1e-6)
            stat, df, pval, group = _hosmer_lemeshow(y, p, cfg.hl_groups)
            assert (row["hl_statistic"], row["hl_df"]) == (pytest.approx(stat, rel=1e-9), df)
            assert row["hl_p_value"] == pytest.approx(pval, rel=1e-9)
            cc = curve.filter((pl.col("cohort") == c) & (pl.col("model") == m))
            np.testing.assert_allclose(cc["predicted"], [p[group == k].mean() for k in np.unique(group)], rtol=1e-12)
            assert cc["events"].to_list() == [int(y[group == k].sum()) for k in np.unique(group)]
            _check_net_benefit(dca.filter((pl.col("cohort") == c) & (pl.col("model") == m)), y, p, cfg.thresholds)
        _check_net_benefit(dca.filter((pl.col("cohort") == c) & (pl.col("model") == "all")), y,
                           np.ones_like(y, dtype=float), cfg.thresholds)
    # a maximum-likelihood fit is calibrated in the rows it was fitted on
    nomo = cal.filter((pl.col("cohort") == "training") & (pl.col("model") == "nomogram")).row(0, named=True)
    assert (nomo["intercept"], nomo["slope"]) == (pytest.approx(0, abs=1e-3), pytest.approx(1, abs=1e-3))
    # the Radscore's external rows are the external stage's (same definitions, same frozen risks)
    ext = cal.filter((pl.col("cohort") == "external") & (pl.col("model") == "radscore")).row(0, named=True)
    stage_cal = pl.read_parquet(study / "out" / "external" / "calibration.parquet").row(0, named=True)
    stage_hl = pl.read_parquet(study / "out" / "external" / "hosmer_lemeshow.parquet").row(0, named=True)
    for key in ("intercept", "slope", "slope_upper", "oe_ratio"):
        assert ext[key] == pytest.approx(stage_cal[key], abs=1e-6)
    assert ext["hl_statistic"] == pytest.approx(stage_hl["statistic"], abs=1e-6)


def test_latent_truth_and_centres(study: Path) -> None:
    from spinedlr.compare.truth import latent_truth

    lt = latent_truth(load_study(study / "study.yaml"))
    truth = pl.read_parquet(study / "truth.parquet")
    scores = _table(study, "nomogram_scores").join(truth.select("patient_id", "linear_predictor"),
                                                   on="patient_id")
    for row in lt.iter_rows(named=True):
        part = scores.filter(pl.col("cohort") == row["cohort"])
        assert row["latent_auc"] == pytest.approx(roc_auc_score(part["outcome"], part["linear_predictor"]))
        assert row["nomogram_auc"] == pytest.approx(roc_auc_score(part["outcome"], part["risk"]))
    age = _table(study, "centres").filter(pl.col("variable") == "age").row(0, named=True)
    for centre, manifest in (("training", study / "manifest.csv"), ("external", study / "external" / "manifest.csv")):
        ages = pl.read_csv(manifest)["age"]
        assert age[f"group_{centre}"] == f"{ages.mean():.2f} ± {ages.std():.2f}"


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")
def test_report_in_headless_chromium_shows_the_tables_numbers(study: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        driver.get((study / "out" / "report" / "study.html").as_uri())
        summary = _table(study, "classifiers")
        rows = table_rows(driver, "table-classifiers")
        assert len(rows) == summary.height // 2
        for fs, model, cv_ci, ext_ci in rows:
            got = {r["cohort"]: ci_text(r["auc"], r["auc_lower"], r["auc_upper"]) for r in summary.filter(
                (pl.col("feature_set") == fs) & (pl.col("model") == model)).iter_rows(named=True)}
            assert (cv_ci, ext_ci) == (got["cv"], got["external"])
        vote = _table(study, "vote")
        assert table_rows(driver, "table-vote")[0][1] == vote.filter(pl.col("winner"))["model"][0]
        nomo = _table(study, "nomogram_auc")
        shown = {(r[0], r[1]): r[4] for r in table_rows(driver, "table-nomogram-auc")}
        for r in nomo.iter_rows(named=True):
            assert shown[r["model"], r["cohort"]] == ci_text(r["auc"], r["auc_lower"], r["auc_upper"])
        section = driver.find_element(By.ID, "nomogram")
        assert section.find_elements(By.TAG_NAME, "img"), "the nomogram is drawn"
        assert driver.find_element(By.ID, "classifiers").find_elements(By.TAG_NAME, "img")
        cs = _table(study, "clinical_selection").filter(pl.col("analysis") == "univariable")
        assert [r[1] for r in table_rows(driver, "table-clinical-selection")] == cs["term"].to_list()
        lt = {r[0]: r for r in table_rows(driver, "table-latent-truth")}
        assert set(lt) == {"training", "external"}
        _check_models_calibration_tables(driver, _table(study, "models_calibration"))
        for figure in ("figure-models-calibration", "figure-models-dca"):
            assert driver.find_element(By.ID, figure).find_elements(By.TAG_NAME, "img"), figure
        ext_auc = pl.read_parquet(study / "out" / "external" / "auc.parquet").row(0, named=True)
        assert ci_text(ext_auc["auc"], ext_auc["auc_lower"], ext_auc["auc_upper"]) in \
            driver.find_element(By.ID, "external").text
    finally:
        driver.quit()


MODEL_NAMES = {"radscore": "Radscore", "clinical": "Clinical model", "nomogram": "Nomogram"}


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _check_models_calibration_tables(driver, cal: pl.DataFrame) -> None:
    """One table per cohort, the models in the report's order, every number the parquet's."""
    for cohort in ("training", "external"):
        part = cal.filter(pl.col("cohort") == cohort).sort(
            pl.col("model").replace_strict(list(MODEL_NAMES), list(range(len(MODEL_NAMES)))))
        shown = table_rows(driver, f"table-models-calibration-{cohort}")
        want = [[MODEL_NAMES[r["model"]], str(r["n"]), str(r["n_events"]),
                 ci_text(r["intercept"], r["intercept_lower"], r["intercept_upper"]),
                 ci_text(r["slope"], r["slope_lower"], r["slope_upper"]),
                 f"{r['hl_statistic']:.2f}", str(r["hl_df"]), _p_text(r["hl_p_value"])]
                for r in part.iter_rows(named=True)]
        assert shown == want
