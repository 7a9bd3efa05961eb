"""The selection chain on synthetic tables with planted informative, redundant and noise features."""

import logging

import numpy as np
import pytest
from sklearn.base import clone

from spinedlr.select.synthetic import planted
from spinedlr.select.embedded import LassoSelector, LassoSvmRfe, SvmRfeSelector
from spinedlr.select.filters import AssociationFilter, CorrelationPruner, DropConstant
from spinedlr.select.folds import TooFewEventsError, stratified_folds
from spinedlr.select.icc import icc_arrays
from spinedlr.select.mrmr import MrmrRandomForest, mrmr_rank
from spinedlr.select.pipeline import funnel, roi_pipeline, selected_features
from spinedlr.select.radscore import (
    RadscoreLogit,
    apply_formula,
    formula_dict,
    read_formula,
    write_formula,
)
from spinedlr.select.settings import SelectSettings


def fit_reference_chain(seed):
    X1, X2, y, names = planted(seed, noise=60)
    icc = icc_arrays(np.stack([X1, X2], axis=1))["icc"]
    cols = {"radiomics": list(range(len(names)))}
    pipe = roi_pipeline(SelectSettings(), seed, cols, {"radiomics": icc}).fit(X1, y)
    return pipe, X1, y, names, cols


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chain_keeps_signal_drops_noise_and_one_of_each_redundant_pair(seed):
    pipe, X, y, names, cols = fit_reference_chain(seed)
    kept = selected_features(pipe, names)
    for i in range(3):  # each informative signal kept exactly once (original or its copy)
        assert sum(f in (f"inf_{i}", f"red_{i}") for f in kept) == 1, kept
    assert not [f for f in kept if f.startswith(("noise", "shaky"))], kept
    steps = funnel(pipe, "disc", cols)
    icc_row = steps.filter(steps["step"] == "icc").row(0, named=True)
    assert icc_row["n_in"] - icc_row["n_out"] == 10  # exactly the ten shaky features
    assert (steps["n_out"] <= steps["n_in"]).all()
    assert (steps["n_in"][1:] == steps["n_out"][:-1]).all()  # a funnel: each step feeds the next
    assert steps["n_out"][-1] == len(kept)


def test_radscore_formula_round_trip_is_exact(tmp_path):
    import polars as pl

    pipe, X, y, names, _ = fit_reference_chain(0)
    f = formula_dict(pipe.named_steps["radscore"], selected_features(pipe, names), roi="disc")
    write_formula(f, tmp_path / "r.json")
    back = read_formula(tmp_path / "r.json")
    wide = pl.DataFrame(X, schema=names).with_columns(
        pl.Series("patient_id", [f"p{i}" for i in range(len(y))]))
    np.testing.assert_array_equal(apply_formula(back, wide)["radscore"].to_numpy(),
                                  pipe.decision_function(X))
    csv = pl.read_csv(tmp_path / "r.csv")
    assert csv["term"][0] == "(Intercept)" and csv["coef"][0] == pytest.approx(f["intercept"])
    assert csv["term"][1:].to_list() == [x["feature"] for x in f["features"]]
    # the Radscore is the log-odds: it ranks patients like the logistic model's probability
    p = pipe.predict_proba(X)[:, 1]
    np.testing.assert_allclose(np.log(p / (1 - p)), pipe.decision_function(X), atol=1e-9)


def test_pipeline_refits_every_step_in_a_resample():
    X, X2, y, names = planted(1, noise=60)
    fast = SelectSettings(mrmr_k_grid=[2, 4, 8], rf_trees=20, lasso_folds=5, svm_rfe_folds=5)
    icc = icc_arrays(np.stack([X, X2], axis=1))["icc"]
    pipe = roi_pipeline(fast, 1, {"r": list(range(len(names)))}, {"r": icc}).fit(X, y)
    idx = np.random.default_rng(5).integers(0, len(y), len(y))
    again = clone(pipe).fit(X[idx], y[idx])
    before = pipe.named_steps["mrmr_rf"].ranking_.tolist()
    assert again.named_steps["mrmr_rf"].ranking_.tolist() != before


def test_mrmr_prefers_relevant_non_redundant():
    X, _, y, names = planted(0, noise=40)
    order, _ = mrmr_rank(X, y, 3, "mid")
    picked = [names[i].split("_")[1] for i in order]
    assert sorted(picked) == ["0", "1", "2"]  # three different signals, no copy twice
    order, _ = mrmr_rank(X, y, 3, "corr")
    assert sorted(names[i].split("_")[1] for i in order) == ["0", "1", "2"]
    m = MrmrRandomForest(k_grid=(1, 3, 6), trees=20).fit(X, y)
    assert m.k_ in (3, 6) and set(m.cv_auc_) == {1, 3, 6}


def test_correlation_pruner_keeps_more_relevant_of_pair():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30), np.zeros(70)].astype(int)
    strong = rng.normal(size=100) + 1.5 * y
    weaker_copy = strong + rng.normal(scale=0.3, size=100)  # r ≈ 0.95, less relevant
    X = np.column_stack([weaker_copy, strong, rng.normal(size=100)])
    assert CorrelationPruner(0.9).fit(X, y).get_support().tolist() == [False, True, True]
    spearman = CorrelationPruner(0.9, "spearman").fit(X, y)
    assert spearman.get_support().tolist() == [False, True, True]


def test_association_filter_and_empty_set_adjustment(caplog):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    X = np.column_stack([rng.normal(size=100) + 1.5 * y, rng.normal(size=(100, 3))])
    assert AssociationFilter(0.3).fit(X, y).get_support().tolist() == [True, False, False, False]
    with caplog.at_level(logging.WARNING):
        f = AssociationFilter(0.99).fit(X, y)
    assert f.get_support().tolist() == [True, False, False, False] and f.adjusted_
    assert "keeping the best one" in caplog.text


def test_lasso_and_svm_rfe_combinations():
    X, _, y, names = planted(2, noise=8, shaky=0)
    las = LassoSelector(random_state=0).fit(X, y)
    assert las.lambda_1se_ >= las.lambda_min_
    assert LassoSelector(lambda_rule="1se").fit(X, y).get_support().sum() <= las.get_support().sum()
    svm = SvmRfeSelector().fit(X, y)
    both = LassoSvmRfe("intersection").fit(X, y).get_support()
    np.testing.assert_array_equal(both, las.get_support() & svm.get_support())
    union = LassoSvmRfe("union").fit(X, y).get_support()
    np.testing.assert_array_equal(union, las.get_support() | svm.get_support())
    seq = LassoSvmRfe("sequential").fit(X, y).get_support()
    assert not (seq & ~las.get_support()).any()


def test_constant_features_dropped_and_logged(caplog):
    X = np.column_stack([np.ones(20), np.arange(20.0), np.full(20, 3.0)])
    with caplog.at_level(logging.INFO, logger="spinedlr"):
        assert DropConstant().fit(X).get_support().tolist() == [False, True, False]
    assert "2 constant" in caplog.text
    with pytest.raises(ValueError, match="every feature is constant"):
        DropConstant().fit(np.ones((5, 2)))


def test_fewer_events_than_folds_is_a_clear_error():
    y = np.r_[np.ones(4), np.zeros(30)].astype(int)
    with pytest.raises(TooFewEventsError, match="at least 5 patients in each outcome class"):
        stratified_folds(y, 5, 0)
    with pytest.raises(TooFewEventsError):
        LassoSelector(folds=10).fit(np.random.default_rng(0).normal(size=(34, 3)), y)


def test_nan_input_is_rejected_by_transformers():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DropConstant().fit(X)


def test_perfect_separation_is_logged_and_ridge_refitted(caplog):
    y = np.r_[np.ones(15), np.zeros(25)].astype(int)
    x = np.r_[np.linspace(2, 3, 15), np.linspace(-3, -2, 25)]
    X = np.column_stack([x, np.random.default_rng(0).normal(size=40)])
    with caplog.at_level(logging.WARNING):
        m = RadscoreLogit().fit(X, y)
    assert m.adjustment_ and "separation" in m.adjustment_ and "separation" in caplog.text
    assert np.isfinite(m.coef_).all() and np.abs(m.coef_).max() < 10
    assert np.isfinite(m.decision_function(X)).all()
    f = formula_dict(m, ["a", "b"])
    assert f["adjustment"] == m.adjustment_
