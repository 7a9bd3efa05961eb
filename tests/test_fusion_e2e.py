"""End to end: the zou2025 demo -> `spinedlr run --report` -> the fusion report in Chromium.

A small three-centre study (60 patients, a 60/20/20 split so the test cohort has events,
a tiny ViT for two ROIs, two classifiers, three folds) keeps this to a few minutes on two
cores; the full-size demo is `bench/zou2025.py`. The page is checked against the tables
the stage wrote: every number shown must be the one in fusion/*.parquet.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from browser_helpers import CHROMEDRIVER, CHROMIUM, chromium, ci_text, table_rows
from test_e2e_report import _cli, _p

TINY_3D = {"preset": "cpu", "epochs": 2, "input_size": 32, "hidden_size": 32, "mlp_dim": 64,
           "depth": 1, "heads": 2}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("zou") / "demo"
    res = _cli("demo", str(d), "--design", "zou2025", "--n", "60", "--seed", "1")
    assert res.returncode == 0, res.stderr
    cfg = yaml.safe_load((d / "study.yaml").read_text())
    cfg["fusion"].update(cv_folds=3, lasso_folds=3, signature_folds=3, deep_pca=4, deep_signature_folds=3,
                         deep_rois=["vb_ct", "vb_mr"], classify3d=TINY_3D)
    cfg["design"].update(search_folds=2, models=[
        {"name": "lr", "grid": None}, {"name": "adaboost", "grid": {"n_estimators": [20]}}])
    cfg["design"]["validation"].update(train=0.6, validation=0.2, test=0.2)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = _cli("run", str(d / "study.yaml"), "--report")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return d


def _table(study: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(study / "out" / "fusion" / f"{name}.parquet")


def test_stage_tables_cover_every_cohort_roi_and_image(study: Path) -> None:
    cohorts = _table(study, "cohorts")
    assert cohorts.height == 60 and cohorts["patient_id"].n_unique() == 60
    assert set(cohorts["cohort"]) == {"training", "validation", "test"}
    counts = _table(study, "feature_counts")
    assert set(zip(counts["roi"], counts["image"])) == {
        ("vb_ct", "ct"), ("vb_mr", "t2"), ("vb_mr", "t1"), ("disc", "t2"), ("disc", "t1"),
        ("muscle", "t2")}
    assert counts["selected"].sum() == _table(study, "selected").filter(
        pl.col("family") == "radiomics").height >= 1
    nets = _table(study, "networks")
    assert nets["roi"].to_list() == ["vb_ct", "vb_mr"] and set(nets["preset"]) == {"cpu"}
    assert nets["channels"].to_list() == [1, 2]  # T2 + T1 stacked for the MRI ROI
    assert nets["fold_networks"].to_list() == [3, 3] and (nets["fold_seconds"] > 0).all()
    folder = study / "out" / "models3d"  # the out-of-fold DL signature's networks, resumable
    assert all((folder / f"fold{k}of3" / f"{roi}.pt").is_file() for k in (1, 2, 3)
               for roi in ("vb_ct", "vb_mr"))
    run = dict(_table(study, "run").iter_rows())
    selection = _table(study, "clinical_selection")
    n_train = cohorts.filter(pl.col("cohort") == "training").height
    assert set(selection["n"]) == {n_train}  # chosen on the training cohort only
    chosen = selection.filter(pl.col("analysis") == "multivariable", pl.col("p_variable") < 0.05)
    assert run["clinical_selected"] == (", ".join(chosen["variable"].unique(maintain_order=True)) or "none")
    models = {"rad_sign", "dl_sign", "combined"} | ({"clinical"} if chosen.height else set())
    auc = _table(study, "auc")
    assert auc.height == 3 * len(models) and set(auc["score"]) == models
    readers = _table(study, "readers")
    assert readers["reader"].to_list() == ["combined", "surgeon_a", "surgeon_b"]
    test = cohorts.filter(pl.col("cohort") == "test")
    assert readers["n"].to_list() == [test.height] * 3
    assert _table(study, "kappa").height == 1


def test_second_run_skips_every_stage(study: Path) -> None:
    res = _cli("run", str(study / "study.yaml"))
    assert res.returncode == 0, res.stderr
    statuses = dict(re.findall(r"│\s*(\w+)\s*│\s*(ran|skipped|disabled)\s*│", res.stdout))
    assert statuses["fusion"] == "skipped" and statuses["extract"] == "skipped", res.stdout
    assert statuses["select"] == "disabled" and statuses["evaluate"] == "disabled"


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")
def test_fusion_report_in_headless_chromium_shows_the_stage_numbers(study: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        driver.get((study / "out" / "report" / "study.html").as_uri())
        cs = _table(study, "cohort_summary")
        rows = table_rows(driver, "table-fusion-cohorts")
        assert [r[:4] for r in rows] == [[r["cohort"], r["centre"], str(r["n"]), str(r["events"])]
                                         for r in cs.iter_rows(named=True)]
        fc = _table(study, "feature_counts")
        rows = table_rows(driver, "table-fusion-features")
        assert rows == [[r["roi"], r["image"], str(r["extracted"]), str(r["selected"])]
                        for r in fc.iter_rows(named=True)]
        auc = _table(study, "auc")
        shown = {(r[0], r[1]): r[4] for r in table_rows(driver, "table-fusion-auc")}
        labels = {"clinical": "Clinical", "rad_sign": "Rad-sign", "dl_sign": "DL-sign", "combined": "Combined"}
        assert len(shown) == auc.height
        for r in auc.iter_rows(named=True):
            assert shown[r["cohort"], labels[r["score"]]] == ci_text(r["auc"], r["auc_lower"], r["auc_upper"])
        uni = _table(study, "clinical_selection").filter(pl.col("analysis") == "univariable")
        rows = table_rows(driver, "table-fusion-clinical-selection")
        assert [r[1] for r in rows] == uni["term"].to_list()
        assert [r[3] for r in rows] == [_p(p) for p in uni["p_value"]]
        readers = _table(study, "readers")
        rows = table_rows(driver, "table-fusion-readers")
        assert [r[0] for r in rows] == ["Combined model", "surgeon_a", "surgeon_b"]
        for row, ref in zip(rows, readers.iter_rows(named=True)):
            assert row[2] == ci_text(ref["accuracy"], ref["accuracy_lower"], ref["accuracy_upper"])
            assert row[4] == ci_text(ref["sensitivity"], ref["sensitivity_lower"], ref["sensitivity_upper"])
            assert row[8] == ci_text(ref["f1"], ref["f1_lower"], ref["f1_upper"])
            assert row[9] == ("" if ref["mcnemar_p"] is None else _p(ref["mcnemar_p"]))
        kappa = _table(study, "kappa").row(0, named=True)
        row = table_rows(driver, "table-fusion-kappa")[0]
        assert row[4] == ci_text(kappa["kappa"], kappa["kappa_lower"], kappa["kappa_upper"])
        cmp = _table(study, "comparison")
        text = driver.find_element(By.ID, "table-fusion-comparison").text
        for r in cmp.iter_rows(named=True):
            assert ci_text(r["auc"], r["auc_lower"], r["auc_upper"]) in text
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "3D preset used: cpu (vit)" in body
        for fid in ("figure-fusion-roc", "figure-fusion-calibration", "figure-fusion-dca"):
            img = driver.find_element(By.ID, fid).find_element(By.TAG_NAME, "img")
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 100", img), fid
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
