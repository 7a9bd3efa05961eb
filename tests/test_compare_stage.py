"""End to end: `spinedlr run --report` of a small fan2024 demo with the compare stage.

The demo's own study.yaml (nine classifiers, external cohort) must pass the design check;
the run then uses three quick classifiers and fast settings (as tests/test_external_stage.py)
to stay within a few minutes. Checked against independent computations: every AUC of the
comparison is sklearn's AUC of the predictions it wrote, the vote is recomputed, the external
Radscore of the nomogram is the frozen model's (external stage's) linear predictor, the
nomogram's external risks are those of a maximum-likelihood logistic regression refitted here
by scipy on the exported training rows, and the latent-truth table is sklearn's AUC of the
demo's truth. The report is opened in headless Chromium and its numbers compared with the
tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize
from scipy.special import expit, logit
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
        ext_auc = pl.read_parquet(study / "out" / "external" / "auc.parquet").row(0, named=True)
        assert ci_text(ext_auc["auc"], ext_auc["auc_lower"], ext_auc["auc_upper"]) in \
            driver.find_element(By.ID, "external").text
    finally:
        driver.quit()
