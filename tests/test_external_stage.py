"""End to end: `spinedlr run` of a small fan2024 two-centre demo with an external test cohort.

The study fits on the training centre as always; the external stage scores the external
centre's manifest with the frozen model (spinedlr.apply.apply_study) and writes its
statistics. What is checked: the external probabilities are exactly apply_study's (nothing
refitted on the external cohort), the AUC, calibration and Hosmer-Lemeshow rows equal
independent computations (sklearn's AUC, statsmodels-free glm via scipy, the HL formula),
the calibration curve groups add up, and the internal AUCs sit beside the external one.
Fast settings (one segmentation epoch at 64 px, original-image radiomics, 48 patients, no
full-pipeline validation, few bootstrap resamples) keep it to a few minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit
from scipy.stats import chi2
from sklearn.metrics import roc_auc_score

from fan_helpers import cli, fast_fan_demo
from spinedlr.config import load_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """The fan2024 demo with the default (Radscore) model list, run end to end: no compare
    stage (tests/test_compare_stage.py)."""
    d = tmp_path_factory.mktemp("external") / "fan"
    res = cli("run", str(fast_fan_demo(d, None, {"age", "pfirrmann"})))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return d


def _table(study: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(load_study(study / "study.yaml").paths.external / f"{name}.parquet")


def test_external_probabilities_are_the_frozen_models(study: Path, tmp_path: Path) -> None:
    from spinedlr.apply import apply_study

    s = load_study(study / "study.yaml")
    scored = apply_study(s, study / "external" / "manifest.csv", tmp_path / "again.csv", "again",
                         show_progress=False)
    got = _table(study, "predictions")
    manifest = pl.read_csv(study / "external" / "manifest.csv", schema_overrides={"patient_id": pl.String})
    assert got["patient_id"].to_list() == manifest["patient_id"].to_list() == scored["patient_id"].to_list()
    assert got.height == 16
    np.testing.assert_array_equal(got["prob_1"].to_numpy(), scored["prob_1"].to_numpy())
    # the training centre's fitted predictions are untouched by the external cohort
    own = pl.read_parquet(study / "out" / "selection" / "predictions.parquet")
    assert set(own["patient_id"]).isdisjoint(got["patient_id"])


def test_auc_beside_the_internal_aucs(study: Path) -> None:
    pred = _table(study, "predictions")
    auc = _table(study, "auc")
    assert auc["cohort"].to_list() == ["external", "training (apparent)"]
    ext = auc.row(0, named=True)
    want = roc_auc_score(pred["surgery"].to_numpy(), pred["prob_1"].to_numpy())
    assert ext["auc"] == pytest.approx(want, abs=1e-12)
    assert ext["auc_lower"] <= ext["auc"] <= ext["auc_upper"]
    internal = _table(study, "internal_auc")
    assert "kfold" in internal["method"].to_list()
    assert internal["score"].unique().to_list() == ["radscore_combined"]


def test_calibration_and_hosmer_lemeshow_match_independent_formulas(study: Path) -> None:
    pred = _table(study, "predictions")
    y, p = pred["surgery"].to_numpy().astype(float), pred["prob_1"].to_numpy()
    lp = logit(p)
    cal = _table(study, "calibration").row(0, named=True)
    a = brentq(lambda a: np.sum(y - expit(a + lp)), -20, 20, xtol=1e-14)
    nll = lambda b: -np.sum(y * (b[0] + b[1] * lp) - np.logaddexp(0, b[0] + b[1] * lp))  # noqa: E731
    slope = minimize(nll, [0.0, 1.0], method="BFGS", options={"gtol": 1e-10}).x[1]
    assert cal["intercept"] == pytest.approx(a, abs=1e-6)
    assert cal["slope"] == pytest.approx(slope, abs=1e-4)
    assert (cal["n"], cal["n_events"]) == (16, int(y.sum()))
    curve = _table(study, "calibration_curve")
    assert curve["n"].sum() == 16 and curve["events"].sum() == int(y.sum())
    assert curve["predicted"].is_sorted()
    assert ((curve["observed_lower"] <= curve["observed"]) & (curve["observed"] <= curve["observed_upper"])).all()
    # Hosmer-Lemeshow over 4 groups cut at the risk quartiles: sum (O - E)^2 / (E (1 - E/n))
    q = np.quantile(p, [0.25, 0.5, 0.75])
    bins = [p <= q[0], (p > q[0]) & (p <= q[1]), (p > q[1]) & (p <= q[2]), p > q[2]]
    groups = [np.flatnonzero(b) for b in bins]
    assert curve["n"].to_list() == [len(g) for g in groups]
    stat = sum((y[g].sum() - p[g].sum()) ** 2 / (p[g].sum() * (1 - p[g].mean())) for g in groups)
    hl = _table(study, "hosmer_lemeshow").row(0, named=True)
    assert hl["df"] == 2
    assert hl["statistic"] == pytest.approx(stat, rel=1e-9)
    assert hl["p_value"] == pytest.approx(chi2.sf(stat, 2), rel=1e-9)


def test_decision_curve_net_benefit(study: Path) -> None:
    pred = _table(study, "predictions")
    y, p = pred["surgery"].to_numpy(), pred["prob_1"].to_numpy()
    dca = _table(study, "decision_curve").filter(pl.col("model") == "frozen model")
    for row in dca.iter_rows(named=True):
        t = row["threshold"]
        treat = p >= t
        nb = (np.sum(treat & (y == 1)) - np.sum(treat & (y == 0)) * t / (1 - t)) / len(y)
        assert row["net_benefit"] == pytest.approx(nb, abs=1e-12)


def test_second_run_skips_and_a_changed_external_manifest_reruns(study: Path) -> None:
    res = cli("run", str(study / "study.yaml"), "--only", "external")
    assert res.returncode == 0 and "external: inputs unchanged" in res.stderr, res.stderr[-2000:]
    s = load_study(study / "study.yaml")
    from spinedlr.external.stage import SPEC
    from spinedlr.stage_contract import stage_key

    key = stage_key(s, SPEC)
    manifest = study / "external" / "manifest.csv"
    text = manifest.read_text()
    try:
        manifest.write_text(text.replace("\n", "\r\n"))
        assert stage_key(s, SPEC) != key
    finally:
        manifest.write_text(text)


def test_report_shows_the_external_validation_beside_the_internal(study: Path) -> None:
    res = cli("run", str(study / "study.yaml"), "--report")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    html = (study / "out" / "report" / "study.html").read_text()
    section = html[html.index('id="external"'):html.index('id="impact"')]
    auc = _table(study, "auc").row(0, named=True)
    assert 'id="table-external-auc"' in section and 'id="table-external-calibration"' in section
    assert f"{auc['auc']:.3f} ({auc['auc_lower']:.3f}" in section
    assert "training, kfold" in section and section.count("<img") == 2
    assert "no external cohort was evaluated" not in html
