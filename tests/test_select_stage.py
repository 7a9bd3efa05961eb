"""`spinedlr select run|apply` end to end on a synthetic study with planted signal."""

import json

import numpy as np
import polars as pl
import pytest
import yaml
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from spinedlr.select.synthetic import long_table, planted
from spinedlr.cli import app

FAST = {"mrmr_k_grid": [1, 2, 4, 8], "rf_trees": 20, "lasso_folds": 5, "svm_rfe_folds": 5,
        "validation_repeats": 1}
ROI_EFFECT = {"disc": 1.5, "muscle": 0.5}


def write_study(root, n=120, events=36, seed=0, nan_at=None, select=None):
    """A study folder with manifest and LONG feature tables for both ROIs and families."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, events, replace=False)] = 1
    ids = [f"P{i:03d}" for i in range(n)]
    (root / "study.yaml").write_text(yaml.safe_dump(
        {"covariates": [], "comparator": None, "select": {**FAST, **(select or {})}}))
    cols = ["disc_image", "disc_mask_rater1", "disc_mask_rater2", "muscle_image",
            "muscle_mask_rater1", "muscle_mask_rater2"]
    pl.DataFrame({"patient_id": ids, "recurrence": y, **{c: "x.nii.gz" for c in cols}}).write_csv(
        root / "manifest.csv")
    feats = root / "out" / "features"
    feats.mkdir(parents=True)
    for fam, kw in {"radiomics": dict(noise=60), "deep": dict(noise=30, k=2, shaky=4)}.items():
        parts = []
        for j, (roi, eff) in enumerate(ROI_EFFECT.items()):
            X1, X2, _, names = planted(seed + 10 * j + len(fam), y=y, effect=eff, **kw)
            it, fc = ("original", "firstorder") if fam == "radiomics" else ("down4", "gap")
            if nan_at and fam == "radiomics" and roi == "disc":
                X1[nan_at[0], nan_at[1]] = nan_at[2]
            if fam == "radiomics":  # a constant feature (e.g. a shape feature of a fixed ROI)
                X1, X2, names = np.c_[X1, np.ones(n)], np.c_[X2, np.ones(n)], [*names, "const"]
            parts += [long_table(X1, names, ids, roi, "rater1", it, fc),
                      long_table(X2, names, ids, roi, "rater2", it, fc)]
        pl.concat(parts).write_parquet(feats / f"{fam}.parquet")
    return y, ids


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    y, ids = write_study(root)
    res = CliRunner().invoke(app, ["select", "run", str(root)])
    assert res.exit_code == 0, res.output
    return root, y, ids, res.output


def test_outputs_and_funnel(study):
    root, y, ids, output = study
    steps = pl.read_parquet(root / "out/selection/steps.parquet")
    assert set(steps.columns) == {"roi", "family", "step", "n_in", "n_out"}
    assert set(steps["family"]) == {"radiomics", "deep", "fused"}
    rad = steps.filter((pl.col("roi") == "disc") & (pl.col("family") == "radiomics"))
    assert rad["step"].to_list() == ["input", "icc", "constant", "mrmr_rf", "pearson",
                                     "association", "lasso_svm_rfe"]
    assert rad["n_in"][0] == 3 + 3 + 60 + 10 + 1
    assert rad.filter(pl.col("step") == "icc")["n_out"][0] == 66
    assert "disc / radiomics: 77 → 66 → 66" in output
    icc = pl.read_parquet(root / "out/selection/icc.parquet")
    assert icc.filter(pl.col("feature").str.contains("shaky"))["kept"].sum() == 0
    assert icc.filter(pl.col("feature").str.contains("_inf_"))["kept"].all()
    det = json.loads((root / "out/selection/details.json").read_text())
    k = det["disc"]["families"]["radiomics"]["mrmr_k"]
    assert rad.filter(pl.col("step") == "mrmr_rf")["n_out"][0] == k
    assert set(det["disc"]["families"]["radiomics"]["mrmr_rf_cv_auc"]) == {"1", "2", "4", "8"}
    las = det["disc"]["families"]["deep"]["lasso"]
    assert las["lambda_1se"] >= las["lambda_min"] == las["lambda_used"]
    const = icc.filter(pl.col("feature") == "original_firstorder_const")
    assert const["icc"].to_list() == [None, None] and not const["kept"].any()
    assert const["note"].to_list() == ["constant in both raters"] * 2
    assert icc["form"].unique().to_list() == ["ICC2"]
    assert {"roi", "family", "feature", "icc", "ci_low", "ci_high", "kept"} <= set(icc.columns)


def test_radscores_table(study):
    root, y, ids, _ = study
    rs = pl.read_parquet(root / "out/radscores.parquet")
    assert rs.columns[:5] == ["patient_id", "outcome", "radscore_disc", "radscore_muscle",
                              "radscore_combined"]
    fams = {f"radscore_disc_{f}" for f in ("radiomics", "deep", "fused")}
    assert fams <= set(rs.columns)
    assert rs.height == len(ids) and rs.null_count().sum_horizontal()[0] == 0
    auc = {c: roc_auc_score(rs["outcome"], rs[c]) for c in rs.columns[2:]}
    assert auc["radscore_disc"] > 0.85 and auc["radscore_disc"] > auc["radscore_muscle"] + 0.1
    np.testing.assert_array_equal(rs["radscore_disc"], rs["radscore_disc_fused"])


def test_apply_reproduces_training_radscores_exactly(study, tmp_path):
    root, *_ = study
    sel, feats = root / "out/selection", root / "out/features"
    rs = pl.read_parquet(root / "out/radscores.parquet")
    runner = CliRunner()
    for roi in ("disc", "muscle"):
        out = tmp_path / f"{roi}.csv"
        res = runner.invoke(app, ["select", "apply", str(sel / f"radscore_{roi}_fused.json"),
                                  str(feats / "radiomics.parquet"), str(feats / "deep.parquet"),
                                  "--out", str(out)])
        assert res.exit_code == 0, res.output
        got = pl.read_csv(out, schema_overrides={"patient_id": pl.String}).sort("patient_id")
        assert got["patient_id"].to_list() == rs["patient_id"].to_list()
        np.testing.assert_array_equal(got["radscore"].to_numpy(), rs[f"radscore_{roi}"].to_numpy())
    out = tmp_path / "combined.parquet"
    res = runner.invoke(app, ["select", "apply", str(sel / "radscore_combined.json"),
                              str(root / "out/radscores.parquet"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(pl.read_parquet(out)["radscore"], rs["radscore_combined"])


def test_nan_feature_names_patient_and_feature(tmp_path):
    write_study(tmp_path, nan_at=(7, 4, np.inf))
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 1
    assert "patient P007" in res.output and "original_firstorder_red_1" in res.output
    assert "Traceback" not in res.output


def test_nonfinite_drop_feature_is_a_logged_adjustment(tmp_path, caplog):
    write_study(tmp_path, n=80, events=24, nan_at=(7, 4, np.nan),
                select={"nonfinite": "drop_feature"})
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "patient P007: original_firstorder_red_1 = nan" in caplog.text
    icc = pl.read_parquet(tmp_path / "out/selection/icc.parquet")
    disc = icc.filter((pl.col("roi") == "disc") & (pl.col("family") == "radiomics"))
    assert "original_firstorder_red_1" not in disc["feature"].to_list() and disc.height == 76


def test_fewer_events_than_folds(tmp_path):
    write_study(tmp_path, n=60, events=4)
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 1
    assert "at least 5 patients in each outcome class" in res.output


@pytest.mark.slow
def test_fan_style_chain_pca_concat_and_classifiers(tmp_path):
    """Mann–Whitney, Spearman, LASSO only, deep PCA (union) and the classifier comparison."""
    fan = {"mann_whitney_p": 0.05, "mrmr": False, "pearson_threshold": None,
           "spearman_threshold": 0.9, "association_threshold": None, "svm_rfe": False,
           "deep_pca": 5, "compare_classifiers": True}
    write_study(tmp_path, select=fan)
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 0, res.output
    steps = pl.read_parquet(tmp_path / "out/selection/steps.parquet")
    deep = steps.filter((pl.col("roi") == "disc") & (pl.col("family") == "deep"))
    assert deep["step"].to_list() == ["input", "icc", "constant", "pca", "mann_whitney",
                                      "spearman", "lasso"]
    assert deep.filter(pl.col("step") == "pca")["n_out"][0] == 5
    cl = pl.read_parquet(tmp_path / "out/selection/classifiers.parquet")
    assert set(cl["classifier"]) == {"LR", "SVM", "KNN", "DT", "RF", "ET", "GB", "MLP", "AdaBoost"}
    assert cl.filter(pl.col("roi") == "disc")["auc_mean"].max() > 0.8
    # a formula on principal components carries the loadings and still reproduces exactly
    sel, feats = tmp_path / "out/selection", tmp_path / "out/features"
    out = tmp_path / "deep.parquet"
    res = CliRunner().invoke(app, ["select", "apply", str(sel / "radscore_disc_deep.json"),
                                   str(feats / "deep.parquet"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rs = pl.read_parquet(tmp_path / "out/radscores.parquet")
    np.testing.assert_array_equal(pl.read_parquet(out)["radscore"], rs["radscore_disc_deep"])


def test_zscore_concat_fusion(tmp_path):
    write_study(tmp_path, n=100, events=30, select={"fusion": "concat"})
    res = CliRunner().invoke(app, ["select", "run", str(tmp_path)])
    assert res.exit_code == 0, res.output
    steps = pl.read_parquet(tmp_path / "out/selection/steps.parquet")
    assert set(steps["family"]) == {"fused"}
    assert steps.filter(pl.col("step") == "input")["n_in"].to_list() == [77 + 38, 77 + 38]
    rs = pl.read_parquet(tmp_path / "out/radscores.parquet")
    assert roc_auc_score(rs["outcome"], rs["radscore_disc"]) > 0.85
