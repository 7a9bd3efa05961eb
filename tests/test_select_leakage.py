"""Full-pipeline CV vs final-model-only CV on pure noise: the selection-leakage gap."""

import numpy as np

from spinedlr.select.pipeline import roi_pipeline
from spinedlr.select.settings import SelectSettings
from spinedlr.select.validation import bootstrap_auc, cv_auc

FAST = SelectSettings(mrmr_k_grid=[1, 2, 4, 8], rf_trees=20, lasso_folds=5, svm_rfe_folds=5)


def noise(seed, n=120, p=300, events=40):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, events, replace=False)] = 1
    return rng.normal(size=(n, p)), y


def gap(settings, seed, p=300):
    X, y = noise(seed, p=p)
    pipe = roi_pipeline(settings, 0, {"radiomics": list(range(X.shape[1]))}, {"radiomics": None})
    full = cv_auc(pipe, X, y, folds=5, seed=1, mode="full")["auc"]
    leaky = cv_auc(pipe, X, y, folds=5, seed=1, mode="final_only")["auc"]
    return full, leaky


# association filter |r| >= 0.2 alone keeps ~3 % of 300 noise features
UNIVARIATE = SelectSettings(mrmr=False, pearson_threshold=None, association_threshold=0.2,
                            lasso=False, svm_rfe=False)


def test_leakage_gap_on_pure_noise_univariate_chain():
    for seed in (0, 1):
        full, leaky = gap(UNIVARIATE, seed)
        assert abs(full - 0.5) < 0.12, full  # honest: noise predicts nothing
        assert leaky > 0.7, leaky  # selecting on all patients first looks predictive


def test_leakage_gap_on_pure_noise_reference_chain():
    # the reference chain is conservative on noise (association 0.3, LASSO), but the
    # final-model-only estimate is still optimistic
    full, leaky = gap(FAST, 1)
    assert abs(full - 0.5) < 0.1, full
    assert leaky - full > 0.1, (full, leaky)


def test_full_pipeline_bootstrap_is_optimism_corrected():
    X, y = noise(1, n=100, p=300)
    pipe = roi_pipeline(UNIVARIATE, 0, {"radiomics": list(range(X.shape[1]))}, {"radiomics": None})
    res = bootstrap_auc(pipe, X, y, B=20, seed=0)
    assert res["apparent"] > 0.6  # features chosen on noise look good in-sample
    assert res["optimism"] > 0.05 and res["corrected"] < res["apparent"]
    assert len(res["optimism_per_resample"]) == 20
