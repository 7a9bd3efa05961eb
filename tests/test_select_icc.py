"""ICC: agreement with pingouin on its own example data, and the edge cases."""

import numpy as np
import pingouin as pg
import polars as pl
import pytest

from spinedlr.select.icc import PINGOUIN_TYPE, IccFilter, icc_arrays, icc_table


@pytest.fixture
def pingouin_icc():
    data = pg.read_dataset("icc")
    saved = pg.options["round.column.CI95"]
    pg.options["round.column.CI95"] = None
    try:
        ref = pg.intraclass_corr(data, targets="Wine", raters="Judge", ratings="Scores")
    finally:
        pg.options["round.column.CI95"] = saved
    wide = data.pivot_table(index="Wine", columns="Judge", values="Scores").to_numpy()
    return wide, ref.set_index("Type")


@pytest.mark.parametrize("form", list(PINGOUIN_TYPE))
def test_icc_matches_pingouin_example(pingouin_icc, form):
    wide, ref = pingouin_icc
    row = ref.loc[PINGOUIN_TYPE[form]]
    ours = icc_arrays(wide, form)
    assert ours["icc"][0] == pytest.approx(row["ICC"], abs=1e-12)
    assert ours["f"][0] == pytest.approx(row["F"], rel=1e-12)
    assert ours["pval"][0] == pytest.approx(row["pval"], rel=1e-9)
    assert [ours["ci_low"][0], ours["ci_high"][0]] == pytest.approx(list(row["CI95"]), abs=1e-12)


def test_vectorised_equals_per_feature_pingouin():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=(25, 4))
    r = np.stack([truth + rng.normal(scale=s, size=truth.shape) for s in (0.3, 0.6)], axis=1)
    r[:, 1, 2] += 0.8  # a systematic offset of rater 2 on feature 2: absolute agreement drops
    ours = icc_arrays(r, "ICC2")["icc"]
    for j in range(4):
        long = pl.DataFrame({"t": np.tile(np.arange(25), 2), "rater": np.repeat(["a", "b"], 25),
                             "v": np.concatenate([r[:, 0, j], r[:, 1, j]])}).to_pandas()
        ref = pg.intraclass_corr(long, "t", "rater", "v").set_index("Type").loc["ICC(A,1)", "ICC"]
        assert ours[j] == pytest.approx(ref, abs=1e-12)
    assert ours[2] < icc_arrays(r, "ICC3")["icc"][2]  # consistency ignores the offset


def test_identical_raters_give_one():
    x = np.random.default_rng(0).normal(size=(30, 5))
    for form in PINGOUIN_TYPE:
        res = icc_arrays(np.stack([x, x], axis=1), form)
        assert np.all(res["icc"] == 1.0)
        assert np.all(res["ci_low"] == 1.0) and np.all(res["ci_high"] == 1.0)


def test_icc_table_constant_feature_is_reported_not_nan():
    ids = [f"p{i}" for i in range(20)]
    rng = np.random.default_rng(1)
    a = rng.normal(size=20)
    r1 = pl.DataFrame({"patient_id": ids, "good": a, "const": 1.0, "bad": rng.normal(size=20)})
    r2 = pl.DataFrame({"patient_id": ids[::-1], "good": (a + 0.01)[::-1], "const": 1.0,
                       "bad": rng.normal(size=20)})
    tab = icc_table(r1, r2, ["good", "const", "bad"]).sort("feature")
    rows = {r["feature"]: r for r in tab.iter_rows(named=True)}
    assert rows["good"]["icc"] > 0.99 and rows["good"]["kept"]  # rows matched by patient id
    assert rows["const"]["icc"] is None and rows["const"]["note"] == "constant in both raters"
    assert not rows["const"]["kept"] and not rows["bad"]["kept"]
    assert tab["icc"].is_nan().sum() == 0


def test_icc_filter_transformer():
    X = np.arange(12.0).reshape(3, 4)
    f = IccFilter(icc=np.array([0.9, 0.5, np.nan, 0.76]), threshold=0.75).fit(X)
    assert f.get_support().tolist() == [True, False, False, True]
    assert f.get_feature_names_out(["a", "b", "c", "d"]).tolist() == ["a", "d"]
    assert f.transform(X).shape == (3, 2)
    with pytest.raises(ValueError, match="ICC values"):
        IccFilter(icc=np.ones(3)).fit(X)
