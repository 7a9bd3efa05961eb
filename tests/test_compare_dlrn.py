"""Clinical-factor choice, category levels and the frozen nomogram (spinedlr.compare.dlrn).

Known answers: the nomogram's risks in a second cohort are those of a maximum-likelihood
logistic regression fitted by scipy on the first (rms::lrm is that fit), for a numeric and a
two-level factor predictor; the total points follow the nomogram's own line from points to
risk.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from spinedlr.compare.calibration import model_calibration
from spinedlr.compare.dlrn import Cohorts, _fit_and_score, present_levels, selected_factors
from spinedlr.errors import InputError


def _selection(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["analysis", "variable", "p_variable"], orient="row")


def test_selected_factors_are_those_below_005_in_the_multivariable_model() -> None:
    table = _selection([("univariable", "age", 0.01), ("univariable", "msu", 0.001),
                        ("univariable", "odi", 0.2), ("multivariable", "age", 0.06),
                        ("multivariable", "msu", 0.004), ("multivariable", "msu", 0.004)])
    assert selected_factors(table) == ["msu"]
    assert selected_factors(table.filter(pl.col("analysis") == "univariable")) == []


def test_levels_absent_from_training_are_dropped_and_unseen_external_levels_named() -> None:
    enum = pl.Enum(["1A", "2B", "3A"])
    train = pl.DataFrame({"patient_id": ["a", "b"], "msu": pl.Series(["3A", "1A"], dtype=enum)})
    ext = pl.DataFrame({"patient_id": ["c"], "msu": pl.Series(["1A"], dtype=enum)})
    got = present_levels(train, ext)
    assert got.training.schema["msu"] == pl.Enum(["1A", "3A"]) == got.external.schema["msu"]
    bad = pl.DataFrame({"patient_id": ["E9"], "msu": pl.Series(["2B"], dtype=enum)})
    with pytest.raises(InputError, match="E9: msu = '2B' never occurs in the training centre"):
        present_levels(train, bad)


def test_frozen_nomogram_risk_equals_an_independent_ml_logistic_fit() -> None:
    rng = np.random.default_rng(4)
    n = 200
    radscore = rng.normal(size=n + 50)
    severe = rng.random(n + 50) < 0.4
    y = (rng.random(n + 50) < expit(-0.5 + 1.2 * radscore + 0.8 * severe)).astype(int)
    level = pl.Series(np.where(severe, "severe", "mild"), dtype=pl.Enum(["mild", "severe"]))
    frame = pl.DataFrame({"patient_id": [str(i) for i in range(n + 50)], "outcome": y,
                          "radscore": radscore, "pfirrmann": level})
    cohorts = Cohorts(frame[:n], frame[n:])
    _, scored = _fit_and_score(cohorts, ["radscore", "pfirrmann"])
    X = np.column_stack([np.ones(n), radscore[:n], severe[:n]])

    def nll(b: np.ndarray) -> float:
        return float(np.sum(np.logaddexp(0, X @ b) - y[:n] * (X @ b)))

    b = minimize(nll, np.zeros(3), jac=lambda b: X.T @ (expit(X @ b) - y[:n]), method="BFGS",
                 options={"gtol": 1e-10}).x
    want = expit(b[0] + b[1] * radscore[n:] + b[2] * severe[n:])
    np.testing.assert_allclose(scored["external"]["risk"], want, atol=1e-6)
    np.testing.assert_allclose(scored["training"]["risk"], expit(X @ b), atol=1e-6)
    # more total points, more risk: the points are a monotone map of the linear predictor
    ext = scored["external"].sort("total_points")
    assert ext["risk"].is_sorted()


def test_a_refused_calibration_statistic_leaves_a_note_and_keeps_the_others() -> None:
    """Two distinct risks (a clinical model of one binary factor) cannot form three
    Hosmer-Lemeshow groups; risks the outcome separates have no finite slope. Each row keeps
    what could be computed, R's reason in ``note``; a model with neither problem has none."""
    rng = np.random.default_rng(5)
    y = np.array([0, 1] * 20)
    coarse = np.where(rng.random(40) < 0.5, 0.3, 0.6)
    separated = np.where(y == 1, 0.9, 0.1) + rng.uniform(-0.05, 0.05, 40)
    fine = rng.uniform(0.2, 0.8, 40)
    risks = {"coarse": coarse, "separated": separated, "fine": fine}
    tables = model_calibration({"training": y}, {"training": risks}, 0.95, 4, [0.2, 0.5])
    cal = {r["model"]: r for r in tables["models_calibration"].iter_rows(named=True)}
    assert "hosmer_lemeshow" in cal["coarse"]["note"] and cal["coarse"]["hl_statistic"] is None
    assert cal["coarse"]["slope"] is not None
    assert cal["separated"]["note"] and cal["separated"]["slope"] is None
    assert cal["separated"]["hl_statistic"] is not None
    assert cal["fine"]["note"] is None and cal["fine"]["n"] == 40 and cal["fine"]["n_events"] == 20
    curve = tables["models_calibration_curve"].filter(pl.col("model") == "coarse")
    assert curve["n"].sum() == 40  # what groups the tied risks allow (here one)
    assert set(tables["models_decision_curve"]["model"]) == {*risks, "all", "none"}
