"""Greedy redundancy deletion against a brute-force re-implementation and hand-made graphs."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from spinedlr.select.redundancy import GreedyRedundancyDeletion


def brute_force(X, threshold, method):
    """The documented rule, recomputed from scratch at every step on the full |r| matrix."""
    R = np.abs(spearmanr(X).statistic if method == "spearman" else np.corrcoef(X, rowvar=False))
    remaining = list(range(X.shape[1]))
    deleted = []
    while True:
        def key(j):
            others = [k for k in remaining if k != j]
            linked = [R[j, k] for k in others if R[j, k] > threshold]
            return (len(linked), round(sum(linked), 9), round(sum(R[j, k] for k in others), 9), j)
        worst = max(remaining, key=key)
        if key(worst)[0] == 0:
            return deleted
        remaining.remove(worst)
        deleted.append(worst)


def clustered(seed, n=70, clusters=6, per=5, free=8):
    """Clusters of noisy copies of a latent (within-cluster |r| around the threshold) + noise."""
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(clusters):
        z = rng.normal(size=n)
        for _ in range(per):
            cols.append(z * rng.choice([-1, 1]) + rng.uniform(0.1, 0.5) * rng.normal(size=n))
    X = np.column_stack(cols + [rng.normal(size=n) for _ in range(free)])
    X[:, ::3] = np.exp(X[:, ::3])  # monotone transforms: Spearman and Pearson disagree
    return X[:, rng.permutation(X.shape[1])]


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_brute_force(seed, method):
    X = clustered(seed)
    sel = GreedyRedundancyDeletion(0.9, method).fit(X)
    ref = brute_force(X, 0.9, method)
    assert len(ref) > 5
    assert sel.deleted_ == ref
    kept = sel.get_support()
    R = spearmanr(X[:, kept]).statistic if method == "spearman" else np.corrcoef(X[:, kept].T)
    assert (np.abs(R[~np.eye(kept.sum(), dtype=bool)]) <= 0.9).all()  # no pair left above t


def test_chain_loses_only_the_middle_feature():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = a + 0.3 * rng.normal(size=200)
    c = b + 0.3 * rng.normal(size=200)
    r = np.corrcoef([a, b, c])
    assert r[0, 1] > 0.93 and r[1, 2] > 0.93 and r[0, 2] < 0.93  # a ~ b ~ c, a !~ c
    sel = GreedyRedundancyDeletion(0.93, "pearson").fit(np.c_[a, b, c, rng.normal(size=200)])
    assert sel.get_support().tolist() == [True, False, True, True]


def test_hub_of_a_star_goes_first():
    rng = np.random.default_rng(1)
    hub = rng.normal(size=300)
    leaves = [hub + 0.35 * rng.normal(size=300) for _ in range(3)]
    X = np.column_stack([*leaves, hub])
    sel = GreedyRedundancyDeletion(0.9, "pearson").fit(X)
    assert sel.deleted_[0] == 3


def test_pair_tie_goes_to_overall_redundancy_then_to_the_later_column():
    rng = np.random.default_rng(2)
    a, c = rng.normal(size=(2, 400))
    b = a + 0.1 * rng.normal(size=400) + 0.3 * c  # b ~ a above 0.9 and also shares c
    X = np.c_[b / np.std(b), a, c]
    assert abs(np.corrcoef(X.T)[0, 1]) > 0.9
    # a–b is the only link; b has more |r| with the rest (c), so b goes although listed first
    assert GreedyRedundancyDeletion(0.9, "pearson").fit(X).deleted_ == [0]
    # identical columns: everything ties, the later one goes
    X = np.c_[a, c, a * 3 + 1]
    assert GreedyRedundancyDeletion(0.9, "spearman").fit(X).deleted_ == [2]


def test_spearman_sees_monotone_redundancy_pearson_misses():
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    X = np.c_[a, np.exp(3 * a)]  # rank-identical, Pearson r well below 0.9
    assert GreedyRedundancyDeletion(0.9, "spearman").fit(X).get_support().sum() == 1
    assert GreedyRedundancyDeletion(0.9, "pearson").fit(X).get_support().all()


def test_bad_input_is_a_clear_error():
    X = clustered(0)
    with pytest.raises(ValueError, match="method"):
        GreedyRedundancyDeletion(0.9, "kendall").fit(X)
    with pytest.raises(ValueError, match="threshold"):
        GreedyRedundancyDeletion(1.5).fit(X)
    const = X.copy()
    const[:, 4] = 1.0
    with pytest.raises(ValueError, match="constant column"):
        GreedyRedundancyDeletion().fit(const)
    const[0, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GreedyRedundancyDeletion().fit(const)
