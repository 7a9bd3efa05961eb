"""DeepPCA, ZScore, z-score fusion and the robust normaliser against numpy / scikit-learn."""

import logging

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import RobustScaler, StandardScaler

from spinedlr.select.fusion import DeepPCA, ZScore, zscore_fusion
from spinedlr.select.normalise import RobustNormaliser


def split(seed=0, n=90, p=60):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 5))
    X = latent @ rng.normal(size=(5, p)) + 0.3 * rng.normal(size=(n, p)) + rng.uniform(-3, 9, p)
    return X[:60], X[60:]


def test_deep_pca_equals_sklearn_and_numpy_svd():
    tr, te = split()
    pca = DeepPCA(n_components=32).fit(tr)
    ref = PCA(n_components=32, svd_solver="full").fit(tr)
    np.testing.assert_allclose(pca.transform(te), ref.transform(te), rtol=1e-10, atol=1e-10)
    # numpy: scores = centred data · right singular vectors (up to each component's sign)
    c = tr - tr.mean(axis=0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    scores = (te - tr.mean(axis=0)) @ vt[:32].T
    np.testing.assert_allclose(np.abs(pca.transform(te)), np.abs(scores), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(pca.explained_variance_ratio_, s[:32] ** 2 / (s**2).sum(),
                               rtol=1e-10)
    names = pca.get_feature_names_out()
    assert names[0] == "deep_pc01" and names[-1] == "deep_pc32" and len(names) == 32


def test_deep_pca_names_widen_and_bad_sizes_are_clear_errors():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 120))
    assert DeepPCA(100, prefix="dl_sag_pc").fit(X).get_feature_names_out()[[0, -1]].tolist() == [
        "dl_sag_pc001", "dl_sag_pc100"]
    with pytest.raises(ValueError, match=r"integer in 1\.\.20"):
        DeepPCA(32).fit(X[:20])
    with pytest.raises(ValueError, match="prefix"):
        DeepPCA(2, prefix="x; rm").fit(X)


def test_zscore_uses_training_statistics_only():
    tr, te = split(2)
    z = ZScore().fit(tr)
    np.testing.assert_allclose(z.transform(te), (te - tr.mean(0)) / tr.std(0), rtol=1e-12)
    np.testing.assert_allclose(z.transform(tr), StandardScaler().fit_transform(tr), rtol=1e-12)
    const = tr.copy()
    const[:, 3] = 2.0
    with pytest.raises(ValueError, match=r"constant column\(s\) \(index 3\)"):
        ZScore().fit(const)


def test_fusion_values_names_and_no_leak():
    tr, te = split(3)
    names = np.array([f"rad_f{i}" for i in range(20)] + [f"resnext_{i}" for i in range(40)],
                     dtype=object)
    blocks = {"rad_sag": range(20), "deep_sag": range(20, 60)}
    fusion = zscore_fusion(blocks, {"deep_sag": DeepPCA(8)}).fit(tr)
    out = fusion.transform(te)
    # by hand: radiomics block z-scored; deep block → PCA (training axes) → z-scored
    rad = (te[:, :20] - tr[:, :20].mean(0)) / tr[:, :20].std(0)
    pca = PCA(8, svd_solver="full").fit(tr[:, 20:])
    s_tr = pca.transform(tr[:, 20:])
    deep = (pca.transform(te[:, 20:]) - s_tr.mean(0)) / s_tr.std(0)
    np.testing.assert_allclose(out, np.hstack([rad, deep]), rtol=1e-9, atol=1e-9)
    got = fusion.get_feature_names_out(names).tolist()
    assert got[:2] == ["rad_sag__rad_f0", "rad_sag__rad_f1"]
    assert got[20:] == [f"deep_sag__deep_pc{i:02d}" for i in range(1, 9)]
    # no leak: the test rows' values depend on the training rows only; refitting on all rows
    # (what a leaky pipeline would do) changes them, and each test row is transformed alone
    again = zscore_fusion(blocks, {"deep_sag": DeepPCA(8)}).fit(np.vstack([tr, te]))
    assert np.abs(again.transform(te) - out).max() > 1e-3
    np.testing.assert_allclose(fusion.transform(te[:1]), out[:1], rtol=1e-12, atol=1e-12)


def test_fusion_block_spec_errors():
    with pytest.raises(ValueError, match="block name"):
        zscore_fusion({"rad__sag": [0]})
    with pytest.raises(ValueError, match="shares columns"):
        zscore_fusion({"a": [0, 1], "b": [1, 2]})
    with pytest.raises(ValueError, match="unknown block"):
        zscore_fusion({"a": [0]}, {"b": DeepPCA(2)})


def test_robust_normaliser_equals_numpy_linear_percentiles_and_robust_scaler(caplog):
    tr, te = split(4)
    tr[:50, 5], tr[50:, 5] = 0.0, np.arange(1.0, 11.0)  # IQR 0, not constant (sparse feature)
    tr[:, 6] = 3.0  # constant
    with caplog.at_level(logging.WARNING):
        rn = RobustNormaliser().fit(tr)
    q25, med, q75 = np.percentile(tr, [25, 50, 75], axis=0, method="linear")
    scale = np.where(q75 - q25 == 0, 1.0, q75 - q25)
    np.testing.assert_allclose(rn.transform(te), (te - med) / scale, rtol=1e-12)
    np.testing.assert_array_equal(rn.transform(te), RobustScaler().fit(tr).transform(te))
    assert rn.zero_iqr_.tolist() == [5, 6] and "2 feature(s) with IQR 0" in caplog.text
    np.testing.assert_array_equal(rn.transform(tr)[:, 6], 0.0)  # constant: centred to 0
    # median/IQR resist an outlier that moves a z-score
    spiked = tr.copy()
    spiked[0, 0] = 1e6
    moved = RobustNormaliser().fit(spiked).transform(te)[:, 0] - rn.transform(te)[:, 0]
    z_moved = (ZScore().fit(spiked[:, :1]).transform(te[:, :1])
               - ZScore().fit(tr[:, :1]).transform(te[:, :1]))
    assert np.abs(moved).max() < 0.1
    assert np.median(np.abs(z_moved)) > 0.5
    bad = tr.copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RobustNormaliser().fit(bad)
