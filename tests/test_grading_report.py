"""The grading study's report, apply and validate (issue 15), on a subset of the real SPIDER
crops: `spinedlr run --report` writes the multi-class report whose numbers are the stage's
parquet tables (read back in headless Chromium), `spinedlr apply` on the test patients'
discs reproduces the stage's calibrated test probabilities exactly, and `spinedlr validate`
accepts the per-disc manifest and names a bad grade."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from browser_helpers import CHROMEDRIVER, CHROMIUM, chromium, ci_text, table_rows
from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "spider_pfirrmann" / "study.yaml"
DATA = ROOT.parent / "shared" / "data" / "spider_pfirrmann"
NAME = "Grading <b>subset</b> & co"  # markup in the config must print as text

_absent = pytest.mark.skipif(not (DATA / "discs.csv").exists(), reason="../shared SPIDER data absent")


def needs_data(test):
    """End to end on the shared crops: skipped without ../shared, marked slow (~40 s setup)."""
    return pytest.mark.slow(_absent(test))


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """24 patients' discs run through the grading stage with the report rendered."""
    tmp = tmp_path_factory.mktemp("grading")
    m = pl.read_csv(DATA / "discs.csv")
    keep = sorted(m.filter(pl.col("sequence") == "t2")["patient_id"].unique())[:24]
    (tmp / "data").mkdir()
    (tmp / "data" / "images").symlink_to(DATA / "images")
    m.filter(pl.col("patient_id").is_in(keep)).write_csv(tmp / "data" / "discs.csv")
    cfg = yaml.safe_load(STUDY.read_text())
    cfg.update(name=NAME, manifest="../data/discs.csv", output="out", seed=3)
    cfg["design"]["models"] = [{"name": "lr"}]
    # a larger validation share, so that 24 patients' validation discs hold every grade
    cfg["design"]["validation"] = {"scheme": "fixed", "train": 0.5, "validation": 0.3, "test": 0.2}
    cfg["grading"] = {"baseline": True, "cv_folds": 3, "cv_repeats": 1, "bootstrap": 20,
                      "loso_model": "lr"}
    (tmp / "study").mkdir()
    path = tmp / "study" / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = _cli("run", str(path), "--report")
    assert res.exit_code == 0, res.output[-3000:]
    return path


def test_the_report_needs_the_grading_outputs(tmp_path):
    from spinedlr.report.render import ReportError, render_report

    cfg = yaml.safe_load(STUDY.read_text())
    cfg.update(manifest=str((STUDY.parent / cfg["manifest"]).resolve()), output=str(tmp_path / "out"))
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ReportError, match="nothing to report yet.*grading/summary.json"):
        render_report(load_study(tmp_path / "study.yaml"))


def _out(study: Path) -> Path:
    return study.parent / "out"


def _calibrated(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter((pl.col("model") == "lr") & (pl.col("probabilities") == "calibrated"))


@needs_data
def test_roc_points_enclose_the_r_packages_auroc(study):
    """Known answer: the trapezoid area under the written ROC points of every grade is the
    per-class AUROC the R package computed (both probability sets)."""
    g = _out(study) / "grading"
    roc, hold = pl.read_parquet(g / "roc.parquet"), pl.read_parquet(g / "holdout.parquet")
    auroc = hold.filter((pl.col("task") == "multiclass") & (pl.col("metric") == "auroc"))
    for (model, probs, grade), pts in roc.group_by("model", "probabilities", "grade"):
        want = auroc.filter((pl.col("model") == model) & (pl.col("probabilities") == probs)
                            & (pl.col("class") == str(grade)))["estimate"][0]
        assert np.trapezoid(pts["tpr"], pts["fpr"]) == pytest.approx(want, abs=1e-12)
    rel = pl.read_parquet(g / "reliability.parquet")
    tests = _calibrated(pl.read_parquet(g / "test_predictions.parquet"))
    assert _calibrated(rel).group_by("grade").agg(pl.col("n").sum())["n"].to_list() == [tests.height] * 5


@needs_data
def test_apply_on_the_test_patients_reproduces_the_stage_probabilities(study, tmp_path):
    summary = json.loads((_out(study) / "grading" / "summary.json").read_text())
    assert summary["primary_model"] == "lr"
    tests = _calibrated(pl.read_parquet(_out(study) / "grading" / "test_predictions.parquet"))
    discs = pl.read_csv(study.parent.parent / "data" / "discs.csv")
    new = study.parent.parent / "data" / "new_discs.csv"  # beside images/: same relative paths
    discs.filter(pl.col("patient_id").is_in(tests["patient_id"].unique().implode())).write_csv(new)
    res = _cli("apply", str(study), str(new), "--out", str(tmp_path / "pred.csv"))
    assert res.exit_code == 0, res.output
    pred = pl.read_csv(tmp_path / "pred.csv")
    assert pred.columns == ["patient_id", "ivd_label", *[f"prob_{g}" for g in range(1, 6)],
                            "predicted", "pfirrmann"]
    both = tests.join(pred, on=["patient_id", "ivd_label"], suffix="_apply")
    assert both.height == tests.height == pred.height
    for g in range(1, 6):
        assert (both[f"prob_{g}"] == both[f"prob_{g}_apply"]).all(), g
    P = both.select([f"prob_{g}" for g in range(1, 6)]).to_numpy()
    assert (both["predicted"].to_numpy() == P.argmax(axis=1) + 1).all()


@needs_data
@pytest.mark.parametrize("problem, says", [("no_file", "missing column(s) file"),
                                           ("inside", "among the study's own outputs")])
def test_apply_refuses_a_manifest_without_images_or_an_out_among_the_outputs(study, tmp_path, problem, says):
    discs = pl.read_csv(study.parent.parent / "data" / "discs.csv").head(12)
    if problem == "no_file":
        discs = discs.drop("file")
    discs.write_csv(tmp_path / "new.csv")
    out = _out(study) / "grading" / "p.csv" if problem == "inside" else tmp_path / "p.csv"
    res = _cli("apply", str(study), str(tmp_path / "new.csv"), "--out", str(out))
    assert res.exit_code == 1 and says in " ".join(res.output.split()), res.output


@needs_data
def test_a_changed_model_file_is_refused_before_it_is_unpickled(study, tmp_path):
    from spinedlr.grading.frozen import load_frozen

    g = _out(study) / "grading"
    for name in ("model.json", "model.joblib"):
        shutil.copyfile(g / name, tmp_path / name)
    assert load_frozen(tmp_path / "model.json", study, 3).record["model"] == "lr"
    with pytest.raises(InputError, match="seed"):
        load_frozen(tmp_path / "model.json", study, 4)
    with (tmp_path / "model.joblib").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(InputError, match="changed since the model was fitted"):
        load_frozen(tmp_path / "model.json", study, 3)


@needs_data
def test_validate_accepts_the_per_disc_manifest_and_names_a_bad_grade(study, tmp_path):
    res = _cli("validate", str(study))
    assert res.exit_code == 0 and "OK" in res.output and "24 patients" in res.output, res.output
    cfg = yaml.safe_load(study.read_text())
    discs = pl.read_csv(study.parent.parent / "data" / "discs.csv")
    bad = discs.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(7).otherwise(pl.col("pfirrmann"))
                             .alias("pfirrmann"))
    bad.write_csv(study.parent.parent / "data" / "bad.csv")
    cfg.update(manifest="../data/bad.csv", output=str(tmp_path / "out"))
    (study.parent / "bad.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = _cli("validate", str(study.parent / "bad.yaml"))
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "grade 7 is not among" in text and "different grades" in text, text




def _ci(r: dict) -> str:
    return ci_text(r["estimate"], r["lower"], r["upper"])


def _check_metric_table(driver, hold: pl.DataFrame) -> None:
    """Every cell of the calibrated metric table is the parquet's estimate (CI), per model."""
    rows = {r[0]: r[1:] for r in table_rows(driver, "table-metrics")}
    models = ["baseline_lr", "lr"]
    for i, model in enumerate(models):
        h = hold.filter((pl.col("model") == model) & (pl.col("probabilities") == "calibrated"))
        mc = h.filter(pl.col("task") == "multiclass")
        macro = mc.filter(pl.col("metric") == "macro_auroc").row(0, named=True)
        assert rows["Macro AUROC (one-vs-rest)"][i] == _ci(macro)
        brier = mc.filter(pl.col("metric") == "brier").row(0, named=True)
        assert rows["Brier score (multi-class)"][i] == _ci(brier)
        for g in range(1, 6):
            r = mc.filter((pl.col("metric") == "auroc") & (pl.col("class") == str(g))).row(0, named=True)
            assert rows[f"AUROC grade {g} vs rest"][i] == _ci(r)
        for metric, label in (("auroc", "AUROC"), ("sensitivity", "Sensitivity")):
            r = h.filter((pl.col("task") == "binary") & (pl.col("metric") == metric)).row(0, named=True)
            assert rows[f"1-3 vs 4-5: {label}"][i] == _ci(r)


@needs_data
@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")
def test_the_report_shows_the_stage_tables_and_figures_in_headless_chromium(study):
    from selenium.webdriver.common.by import By

    out = _out(study)
    hold = pl.read_parquet(out / "grading" / "holdout.parquet")
    driver = chromium()
    try:
        driver.get((out / "report" / "study.html").as_uri())
        assert NAME in driver.find_element(By.CSS_SELECTOR, "h1.title").text  # text, not markup
        assert not driver.find_elements(By.CSS_SELECTOR, "h1.title b, .missing")
        _check_metric_table(driver, hold)
        cohort = pl.read_parquet(out / "grading" / "cohort.parquet")
        total = table_rows(driver, "table-cohort")[-1]
        assert total[0] == "All scanners" and total[-1] == str(cohort["n_discs"].sum())
        loso = pl.read_parquet(out / "grading" / "loso.parquet")
        assert [r[0] for r in table_rows(driver, "table-loso")] == loso["scanner"].to_list()
        cv = {r[0]: r for r in table_rows(driver, "table-cv")}
        folds = pl.read_parquet(out / "grading" / "cv_folds.parquet")
        lr = folds.filter(pl.col("model") == "lr")["macro_auroc"]
        assert cv["lr"][2] == f"{lr.mean():.3f} ({lr.std():.3f})"
        assert any(k.startswith("baseline") for k in cv)
        methods = " ".join(driver.find_element(By.ID, "methods-paragraph").text.split())
        assert "randomly initialised" in methods and "no weights file" in methods
        for fig in ("figure-crops", "figure-roc", "figure-reliability", "figure-confusion"):
            img = driver.find_element(By.CSS_SELECTOR, f"#{fig} img")
            assert driver.execute_script("return arguments[0].naturalWidth", img) > 100, fig
    finally:
        driver.quit()
