"""Python wrappers of clinical_selection and external_calibration: the R package's numbers,
checked against independent fits (scikit-learn's unpenalised logistic
regression and scipy root finding)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from spinedlr.stats.clinical import clinical_selection, external_calibration


def _data(n=250, seed=2):
    rng = np.random.default_rng(seed)
    odi, noise = rng.normal(40, 12, n), rng.normal(size=n)
    sex = rng.choice(["female", "male"], n)
    y = rng.binomial(1, expit(-3 + 0.07 * odi + 0.6 * (sex == "male")))
    return pl.DataFrame({"y": y, "odi": odi, "noise": noise, "sex": sex})


def test_clinical_selection_matches_an_unpenalised_logistic_fit():
    d = _data()
    t = clinical_selection(d, "y", ["odi", "noise", "sex"])
    uni = t.filter(pl.col("analysis") == "univariable", pl.col("variable") == "odi")
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(d.select("odi").to_numpy(), d["y"])
    assert uni["b"][0] == pytest.approx(ref.coef_[0, 0], rel=1e-5)
    assert uni["or"][0] == pytest.approx(np.exp(uni["b"][0]))
    assert uni["or_lower"][0] == pytest.approx(np.exp(uni["b"][0] - 1.959964 * uni["se"][0]), rel=1e-5)
    entered = t.filter(pl.col("analysis") == "univariable", pl.col("p_variable") < 0.05)["variable"].to_list()
    multi = t.filter(pl.col("analysis") == "multivariable")
    assert multi["variable"].to_list() == entered
    assert multi["term"].to_list() == [("sex=male" if v == "sex" else v) for v in entered]


def test_external_calibration_intercept_solves_its_score_equation():
    rng = np.random.default_rng(5)
    lp = rng.normal(0, 1.2, 500)
    y = rng.binomial(1, expit(-0.5 + 0.8 * lp))
    r = external_calibration(expit(lp), y)
    a = brentq(lambda a: np.sum(y - expit(a + lp)), -5, 5, xtol=1e-14)
    assert r["intercept"][0] == pytest.approx(a, abs=1e-8)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(lp[:, None], y)
    assert r["slope"][0] == pytest.approx(ref.coef_[0, 0], rel=1e-5)
    assert r["oe_ratio"][0] == pytest.approx(y.mean() / expit(lp).mean())
    assert r["intercept_upper"][0] < 0 and r["slope_upper"][0] < 1


def test_external_calibration_refuses_a_risk_of_one():
    from spinedlr.stats import StatsError
    with pytest.raises(StatsError, match="strictly between"):
        external_calibration([0.2, 1.0, 0.4], [0, 1, 1])
