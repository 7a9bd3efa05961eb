"""Full-pipeline validation: the report's validated AUCs (selection and weights refitted in
every resample) against the apparent, in-sample ones."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from spinedlr import stats
from spinedlr.cli import app
from spinedlr.select.pipeline import roi_pipeline
from spinedlr.select.settings import SelectSettings
from spinedlr.select.validation import (
    METHOD,
    METHOD_LEAKY,
    RoiInput,
    delong_var,
    full_pipeline_cv,
    logit_fit,
    rubin_interval,
)


def test_delong_variance_equals_proc():
    rng = np.random.default_rng(4)
    y = (rng.random(90) < 0.3).astype(int)
    x = np.round(rng.normal(size=90) + 0.8 * y, 1)  # ties, as real scores have
    auc, var = delong_var(y, x)
    r = stats.roc_summary(pl.DataFrame({"x": x, "y": y}), "x", "y").row(0, named=True)
    assert auc == pytest.approx(r["auc"], abs=1e-12)
    half = 1.959963984540054 * np.sqrt(var)
    assert (auc - half, auc + half) == pytest.approx((r["auc_lower"], r["auc_upper"]), abs=1e-10)


def test_rubin_interval_adds_the_split_variation():
    est, lo, hi = rubin_interval(np.array([0.6, 0.7]), np.array([0.0025, 0.0025]))
    total = 0.0025 + 1.5 * 0.005  # mean DeLong var + (1 + 1/R) * between-repeat var
    assert est == pytest.approx(0.65)
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * np.sqrt(total))


def test_logit_fit_equals_the_r_package_fit():
    rng = np.random.default_rng(1)
    n = 150
    score, age = rng.normal(size=n), rng.normal(50, 10, size=n)
    grp = rng.choice(["a", "b", "c"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(score + 0.03 * (age - 50))))).astype(int)
    df = pl.DataFrame({"y": y, "score": score, "age": age,
                       "grp": pl.Series(grp).cast(pl.Enum(["a", "b", "c"]))})
    r = stats.fit_models(df, "y", ["score"], ["age", "grp"]).filter(pl.col("model") == "adjusted")
    X = np.column_stack([np.ones(n), score, age, grp == "b", grp == "c"]).astype(float)
    assert logit_fit(X, y) == pytest.approx(r["b"].to_numpy(), abs=1e-7)


def test_firth_is_finite_under_separation_and_matches_the_2x2_answer():
    # a level without events: the ML estimate does not exist; Firth's equals the
    # log odds ratio of the table with 0.5 added to every cell (saturated 2x2 model)
    x = np.r_[np.ones(6), np.zeros(40)]
    y = np.r_[np.zeros(6), np.ones(12), np.zeros(28)]
    b = logit_fit(np.column_stack([np.ones(46), x]), y, firth=True)
    a, bb, c, d = 0 + .5, 6 + .5, 12 + .5, 28 + .5  # (x=1,y=1) (x=1,y=0) (x=0,y=1) (x=0,y=0)
    assert b[1] == pytest.approx(np.log(a * d / (bb * c)), abs=1e-6)
    assert b[0] == pytest.approx(np.log(c / d), abs=1e-6)


@pytest.mark.slow
def test_noise_features_apparent_auc_looks_real_full_pipeline_does_not():
    """300 pure-noise features, 170 patients, 39 events, the reference chain."""
    rng = np.random.default_rng(0)
    y = np.zeros(170, dtype=int)
    y[rng.choice(170, 39, replace=False)] = 1
    X = rng.normal(size=(170, 300))
    s = SelectSettings()
    fams, icc = {"radiomics": list(range(300))}, {"radiomics": None}
    pipe = roi_pipeline(s, 0, fams, icc).fit(X, y)
    auc, var = delong_var(y, pipe.decision_function(X))
    apparent_lower = auc - 1.959963984540054 * np.sqrt(var)
    assert apparent_lower > 0.5  # in-sample: "significant" on noise
    res = full_pipeline_cv(s, 0, {"noise": RoiInput(X, fams, icc)}, y, repeats=2, folds=5,
                           workers=2, leaky={"radscore_noise": pipe[:-1].transform(X)})
    full = res.filter(pl.col("method") == METHOD).row(0, named=True)
    leaky = res.filter(pl.col("method") == METHOD_LEAKY).row(0, named=True)
    assert full["auc_lower"] < 0.5 < full["auc_upper"], full  # validated: nothing there
    assert full["auc"] < 0.6 < auc, (full["auc"], auc)
    assert leaky["auc"] - full["auc"] > 0.1  # selecting on all patients first leaks


FAST = {"mrmr_k_grid": [1, 2, 4], "rf_trees": 10, "lasso_folds": 4, "svm_rfe_folds": 4,
        "validation_repeats": 2, "validation_folds": 4, "validation_workers": 1}


@pytest.mark.slow
def test_select_stage_validates_every_model_of_the_report(tmp_path):
    from test_select_stage import write_study

    y, ids = write_study(tmp_path, n=100, events=30, select=FAST)
    cfg = yaml.safe_load((tmp_path / "study.yaml").read_text())
    rng = np.random.default_rng(2)
    seg = np.where(y == 1, rng.choice(["L4/5", "L5/S1"], len(y)), rng.choice(["L3/4", "L4/5", "L5/S1"], len(y)))
    man = pl.read_csv(tmp_path / "manifest.csv").with_columns(
        pl.Series("age", rng.normal(50, 10, len(y)).round(1)),
        pl.Series("grade", rng.choice(["III", "IV", "V"], len(y))),
        pl.Series("segment", seg))
    man.write_csv(tmp_path / "manifest.csv")
    cfg.update(comparator="grade", covariates=[
        {"name": "age", "type": "continuous"},
        {"name": "grade", "type": "ordinal", "levels": ["III", "IV", "V"]},
        {"name": "segment", "type": "nominal", "levels": ["L3/4", "L4/5", "L5/S1"]}])
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 0, res.output
    v = pl.read_parquet(tmp_path / "out/selection/validation.parquet")
    full = v.filter(pl.col("method") == METHOD)
    got = set(full.select("score", "model").iter_rows())
    for sc in ("radscore_disc", "radscore_muscle", "radscore_combined", "grade"):
        assert {(sc, "unadjusted"), (sc, "adjusted")} <= got, got
    assert set(v.filter(pl.col("method") == METHOD_LEAKY)["score"]) == {"radscore_disc", "radscore_muscle"}
    assert (full["resamples"] == 8).all() and (v["n"] == 100).all()
    assert full.filter(pl.col("model") == "adjusted")["firth_fits"].min() == 8  # L3/4: no events
    assert ((full["auc_lower"] < full["auc"]) & (full["auc"] < full["auc_upper"])).all()
    # the same study validated again with two workers gives the same numbers
    cfg["select"]["validation_workers"] = 2
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    assert CliRunner().invoke(app, ["select", "run", str(tmp_path)]).exit_code == 0
    again = pl.read_parquet(tmp_path / "out/selection/validation.parquet")
    assert again.equals(v)
