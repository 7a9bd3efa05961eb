"""The evaluate stage on a synthetic 170-patient study (radscores + manifest made here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.evaluate.stage import run
from spinedlr.evaluate.settings import EvaluateSettings
from spinedlr.evaluate.synthetic import write_synthetic_study

# Small resample counts: the full-size run is the benchmark (bench/evaluate.py).
FAST = {"boot_n": 40, "pauc_boot_n": 40, "calibration_b": 20, "folds": 5}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    path = write_synthetic_study(tmp_path_factory.mktemp("study"), evaluate=FAST)
    study = load_study(path)
    return study, run(study)


def test_writes_every_table_as_parquet_and_csv(evaluated):
    study, written = evaluated
    expected = {"table1", "table2", "table3", "table4", "models", "predictions", "pauc", "pauc_comparison",
                "auc_comparison", "calibration", "hosmer_lemeshow", "decision_curve", "clinical_impact", "separation"}
    assert set(written) == expected
    for name in expected - {"separation"}:  # separation has no rows when every level has both outcomes
        pq = pl.read_parquet(study.output / "stats" / f"{name}.parquet")
        csv = pl.read_csv(study.output / "stats" / f"{name}.csv", infer_schema_length=None)
        assert pq.height == csv.height > 0
    assert (study.output / "stats" / "provenance.json").exists()


def test_table2_auc_is_the_radscore_auc(evaluated):
    study, written = evaluated
    t2 = pl.read_parquet(written["table2"])
    rad = pl.read_parquet(study.output / "radscores.parquet")
    for score in ("radscore_disc", "radscore_muscle", "radscore_combined"):
        row = t2.filter((pl.col("score") == score) & (pl.col("model") == "unadjusted")).row(0, named=True)
        assert row["auc"] == pytest.approx(roc_auc_score(rad["outcome"], rad[score]), abs=1e-12)
        high = rad[score] >= row["cutoff"]
        assert row["tp"] == int((high & (rad["outcome"] == 1)).sum())
    assert set(t2["score"]) == {"pfirrmann", "radscore_disc", "radscore_muscle", "radscore_combined"}
    assert set(t2["model"]) == {"unadjusted", "adjusted"}


def _delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Paired DeLong test written out (DeLong et al. 1988): the AUC difference and its z."""
    def placements(x):
        pos, neg = x[y == 1], x[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)
    (v10a, v01a), (v10b, v01b) = placements(a), placements(b)
    s10, s01 = np.cov(v10a, v10b), np.cov(v01a, v01b)
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(v10a) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(v01a)
    diff = v10a.mean() - v10b.mean()
    return diff, diff / np.sqrt(var)


def test_auc_comparison_is_the_paired_delong_test(evaluated):
    study, written = evaluated
    dl = pl.read_parquet(written["auc_comparison"])
    # every two models of the same adjustment, once each
    assert dl.group_by("model").len().sort("model")["len"].to_list() == [6, 6]
    rad = pl.read_parquet(study.output / "radscores.parquet")
    y = rad["outcome"].to_numpy()
    row = dl.filter((pl.col("model") == "unadjusted") & (pl.col("score1") == "radscore_disc")
                    & (pl.col("score2") == "radscore_muscle")).row(0, named=True)
    diff, z = _delong(y, rad["radscore_disc"].to_numpy(), rad["radscore_muscle"].to_numpy())
    assert row["difference"] == pytest.approx(diff, abs=1e-12)
    assert row["z"] == pytest.approx(z, rel=1e-9)
    t2 = pl.read_parquet(written["table2"]).filter(pl.col("model") == "adjusted")
    adj = dl.filter(pl.col("model") == "adjusted").row(0, named=True)
    assert adj["auc1"] == pytest.approx(t2.filter(pl.col("score") == adj["score1"])["auc"][0], abs=1e-12)


def test_table4_groups_follow_the_youden_cutoffs(evaluated):
    study, written = evaluated
    t4 = pl.read_parquet(written["table4"])
    rad = pl.read_parquet(study.output / "radscores.parquet")
    cut_a, cut_b = t4["cut_a"][0], t4["cut_b"][0]
    hh = ((rad["radscore_muscle"] >= cut_a) & (rad["radscore_disc"] >= cut_b)).sum()
    un = t4.filter(pl.col("model") == "unadjusted")
    assert un["n"][0] == hh and un["n"].sum() == rad.height
    assert set(t4["model"]) == {"unadjusted", "adjusted"}
    t1 = pl.read_parquet(written["table1"])
    assert t1.filter(pl.col("variable") == "interaction_group")["level"].to_list() == un["group"].to_list()


def test_validation_and_curves_are_consistent(evaluated):
    _, written = evaluated
    t3 = pl.read_parquet(written["table3"])
    assert set(t3["method"]) == {"apparent", "loocv", "kfold", "bootstrap", "optimism"}
    # Rare covariate levels make some resamples quasi-separated; they must still count.
    assert (t3["n_failed"] <= 0.1 * t3["n_resamples"]).all()
    dca = pl.read_parquet(written["decision_curve"])
    prev = dca["prevalence"][0]
    at = dca.filter((pl.col("curve") == "all") & (pl.col("threshold") == 0.2))
    assert at["net_benefit"][0] == pytest.approx(prev - (1 - prev) * 0.25)
    pc = pl.read_parquet(written["pauc_comparison"])
    assert set(pc["focus"]) == {"sensitivity", "specificity"} and pc["method"].str.contains("bootstrap").all()


def test_cli_and_bad_input_leave_no_partial_output(tmp_path):
    path = write_synthetic_study(tmp_path, evaluate=FAST)
    rad = pl.read_parquet(tmp_path / "out" / "radscores.parquet")
    rad.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("radscore_disc"))
                     .alias("radscore_disc")).write_parquet(tmp_path / "out" / "radscores.parquet")
    res = CliRunner().invoke(app, ["evaluate", str(path)])
    assert res.exit_code == 1
    assert "radscore_disc" in res.output and "missing" in res.output
    assert not (tmp_path / "out" / "stats").exists()
    rad.with_columns(pl.lit(np.int64(1)).alias("outcome")).write_parquet(tmp_path / "out" / "radscores.parquet")
    res = CliRunner().invoke(app, ["evaluate", str(path)])
    assert res.exit_code == 1 and "outcome differs" in res.output


def _demo_counts_study(folder, evaluate: dict) -> Path:
    """The synthetic study with the demo's zero-event levels: segment L3/4 (6 patients) and
    Modic I (1 patient) without events, as in the reference study's Table 1."""
    path = write_synthetic_study(folder, evaluate=evaluate)
    man = pl.read_csv(folder / "manifest.csv")
    non_events = man.filter(pl.col("recurrence") == 0)["patient_id"].to_list()
    segment = {p: "L3/4" for p in non_events[:6]}
    modic = {non_events[6]: "I"}
    man = man.with_columns(
        pl.when(pl.col("segment") == "L3/4").then(pl.lit("L4/5")).otherwise(pl.col("segment")).alias("segment"),
        pl.when(pl.col("modic") == "I").then(pl.lit("II")).otherwise(pl.col("modic")).alias("modic"),
    ).with_columns(
        pl.col("patient_id").replace_strict(segment, default=pl.col("segment")).alias("segment"),
        pl.col("patient_id").replace_strict(modic, default=pl.col("modic")).alias("modic"),
    )
    man.write_csv(folder / "manifest.csv")
    return path


def test_zero_event_levels_are_named_and_the_models_use_firth(tmp_path):
    study = load_study(_demo_counts_study(tmp_path, {**FAST, "boot_n": 20, "interaction": None}))
    written = run(study)
    note = pl.read_parquet(written["separation"])
    assert note.select("covariate", "level", "n", "n_events").rows() == [("modic", "I", 1, 0), ("segment", "L3/4", 6, 0)]
    assert note["handling"].str.contains("Firth").all()
    models = pl.read_parquet(written["models"])
    adjusted = models.filter(pl.col("model") == "adjusted")
    assert set(adjusted["estimation"]) == {"firth"} and not adjusted["mle_exists"].any()
    assert set(models.filter(pl.col("model") == "unadjusted")["estimation"]) == {"ml"}
    assert adjusted["or_upper"].is_finite().all() and (adjusted["or_upper"] < 1e4).all()
    t3 = pl.read_parquet(written["table3"])
    assert (t3.filter(pl.col("model") == "adjusted")["estimation"] == "firth").all()
    assert (t3["n_failed"] == 0).all()


def test_separation_refuse_stops_with_one_line_per_level(tmp_path):
    path = _demo_counts_study(tmp_path, {**FAST, "separation": "refuse"})
    res = CliRunner().invoke(app, ["evaluate", str(path)])
    assert res.exit_code == 1
    flat = " ".join(res.output.split())
    assert "covariate 'segment' level 'L3/4': 6 patient(s), no events" in flat
    assert "covariate 'modic' level 'I': 1 patient(s), no events" in flat
    assert not (tmp_path / "out" / "stats").exists()
    with pytest.raises(ValueError, match="separation"):
        EvaluateSettings.model_validate({"separation": "collapse"})
