"""Mann–Whitney and F-test screens against scipy / scikit-learn, feature by feature."""

import logging

import numpy as np
import pytest
from scipy.stats import f_oneway, mannwhitneyu
from sklearn.base import clone
from sklearn.feature_selection import f_classif

from spinedlr.select.screening import FTestScreen, MannWhitneyScreen


def data(seed, n=80, p=30, ties=False):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, n // 3, replace=False)] = 1
    X = rng.normal(size=(n, p)) + np.linspace(0, 1.2, p) * y[:, None]
    if ties:  # integer-valued features: many ties, the tie-corrected normal approximation
        X = np.round(X * 1.5)
    return X, y


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_mann_whitney_equals_scipy_per_feature(seed, ties):
    X, y = data(seed, ties=ties)
    sel = MannWhitneyScreen(alpha=0.05).fit(X, y)
    ref = [mannwhitneyu(X[y == 1, j], X[y == 0, j]) for j in range(X.shape[1])]
    np.testing.assert_allclose(sel.pvalues_, [r.pvalue for r in ref], rtol=1e-12)
    np.testing.assert_array_equal(sel.statistic_, [r.statistic for r in ref])
    expect = np.array([r.pvalue < 0.05 for r in ref])
    assert 0 < expect.sum() < len(expect)
    np.testing.assert_array_equal(sel.get_support(), expect)
    np.testing.assert_array_equal(sel.transform(X), X[:, expect])


def test_mann_whitney_small_samples_use_scipys_exact_test():
    # 6 vs 5 without ties: scipy's "auto" uses the exact distribution; p = 2/462 when separated
    x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    y = np.array([0] * 5 + [1] * 6)
    X = np.c_[x, np.arange(11) % 3 + x / 100]  # second column: no ties, overlapping
    sel = MannWhitneyScreen().fit(X, y)
    assert sel.pvalues_[0] == pytest.approx(2 / 462, rel=1e-12)
    assert sel.pvalues_[1] == pytest.approx(mannwhitneyu(X[y == 1, 1], X[y == 0, 1]).pvalue)


@pytest.mark.parametrize("seed", [0, 3])
def test_f_test_equals_f_classif_and_f_oneway(seed):
    X, y = data(seed)
    sel = FTestScreen(alpha=0.05).fit(X, y)
    f, p = f_classif(X, y)
    np.testing.assert_allclose(sel.pvalues_, p, rtol=1e-12)
    for j in range(X.shape[1]):
        ref = f_oneway(X[y == 0, j], X[y == 1, j])
        assert sel.statistic_[j] == pytest.approx(ref.statistic, rel=1e-10)
        assert sel.pvalues_[j] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    np.testing.assert_array_equal(sel.get_support(), p <= 0.05)


def test_boundary_p_equal_to_alpha_f_keeps_mann_whitney_drops():
    # Zou: "p > 0.05 removed" (keep p <= alpha); Fan: "P < 0.05" kept (strict)
    X, y = data(0)
    pf = f_classif(X, y)[1]
    j = int(np.argsort(pf)[len(pf) // 2])
    assert FTestScreen(alpha=pf[j]).fit(X, y).get_support()[j]
    pm = MannWhitneyScreen().fit(X, y).pvalues_
    k = int(np.argsort(pm)[len(pm) // 2])
    assert not MannWhitneyScreen(alpha=pm[k]).fit(X, y).get_support()[k]


def test_no_feature_passes_keeps_the_smallest_p_and_warns(caplog):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(60, 5)), np.r_[np.zeros(30, int), np.ones(30, int)]
    with caplog.at_level(logging.WARNING):
        sel = FTestScreen(alpha=1e-9).fit(X, y)
    assert sel.get_support().tolist() == (sel.pvalues_ == sel.pvalues_.min()).tolist()
    assert sel.adjusted_ and "keeping the best one" in caplog.text


@pytest.mark.parametrize("screen", [MannWhitneyScreen(), FTestScreen()])
def test_bad_input_is_a_clear_error(screen):
    X, y = data(1, p=4)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clone(screen).fit(bad, y)
    const = X.copy()
    const[:, 1] = 7.0
    with pytest.raises(ValueError, match=r"1 constant column\(s\) \(index 1\)"):
        clone(screen).fit(const, y)
    with pytest.raises(ValueError, match="both classes"):
        clone(screen).fit(X, np.zeros(len(y), int))
    with pytest.raises(ValueError, match="alpha"):
        type(screen)(alpha=0).fit(X, y)


@pytest.mark.parametrize("screen, method", [(MannWhitneyScreen(), "spearman"),
                                            (FTestScreen(), "pearson")])
def test_chains_refit_inside_cv_show_the_leakage_gap_on_noise(screen, method):
    # Fan (Mann–Whitney → Spearman deletion), Zou (robust norm → F test → Pearson deletion)
    # chains on pure noise: honest when every step is refitted on the training folds only,
    # optimistic when the screens saw every patient first
    from sklearn.pipeline import Pipeline

    from spinedlr.select.normalise import RobustNormaliser
    from spinedlr.select.radscore import RadscoreLogit
    from spinedlr.select.redundancy import GreedyRedundancyDeletion
    from spinedlr.select.validation import cv_auc

    rng = np.random.default_rng(0)
    y = np.zeros(120, dtype=int)
    y[rng.choice(120, 40, replace=False)] = 1
    X = rng.normal(size=(120, 300))
    X[:, 150:] = X[:, :150] + 0.1 * rng.normal(size=(120, 150))  # redundant twins
    pipe = Pipeline([("robust", RobustNormaliser()), ("screen", clone(screen)),
                     ("redundancy", GreedyRedundancyDeletion(0.9, method)),
                     ("radscore", RadscoreLogit())])
    fitted = clone(pipe).fit(X, y)
    kept = fitted[:-1].get_feature_names_out([f"f{i}" for i in range(300)])
    twins = {int(k[1:]) % 150 for k in kept}
    assert len(twins) == len(kept)  # never both members of a redundant twin pair
    full = cv_auc(pipe, X, y, folds=5, seed=1, mode="full")["auc"]
    leaky = cv_auc(pipe, X, y, folds=5, seed=1, mode="final_only")["auc"]
    assert abs(full - 0.5) < 0.15, full
    assert leaky > 0.7, leaky
