"""Known answers through the Python bridge: pROC's aSAH, the reference study's Tables 1, 2, 4."""

from __future__ import annotations

import polars as pl
import pytest

from spinedlr import stats
from spinedlr.stats.bridge import from_r


@pytest.fixture(scope="module")
def asah() -> pl.DataFrame:
    """pROC's aSAH data set, fetched through rpy2 (outcome Poor = 1, wfns as its grade)."""
    from spinedlr.stats.bridge import _r

    _r()  # R starts the way the toolkit starts it (library paths, environment)
    from rpy2.robjects.packages import data, importr

    raw = from_r(data(importr("pROC")).fetch("aSAH")["aSAH"])
    return raw.select(
        (pl.col("outcome") == "Poor").cast(pl.Int64).alias("y"),
        pl.col("s100b"),
        pl.col("wfns").cast(pl.Int64),
        pl.col("age").cast(pl.Float64),
    )


def test_roc_summary_asah(asah):
    r = stats.roc_summary(asah, "s100b", "y").row(0, named=True)
    assert r["auc"] == pytest.approx(0.7314, abs=5e-5)
    assert (r["auc_lower"], r["auc_upper"]) == pytest.approx((0.6301, 0.8326), abs=5e-5)
    assert r["cutoff"] == pytest.approx(0.205)
    assert r["specificity"] == pytest.approx(0.8056, abs=5e-5)
    assert r["sensitivity"] == pytest.approx(0.6341, abs=5e-5)


def test_compare_auc_and_partial_auc_asah(asah):
    t = stats.compare_auc(asah, "wfns", "s100b", "y").row(0, named=True)
    assert t["z"] == pytest.approx(2.209, abs=5e-4)
    assert t["p_value"] == pytest.approx(0.0272, abs=5e-5)
    assert stats.partial_auc(asah, "wfns", "y", range=(1, 0.9))["pauc"][0] == pytest.approx(0.03344, abs=5e-6)
    corrected = stats.partial_auc(asah, "wfns", "y", range=(1, 0.9), correct=True)["pauc"][0]
    assert corrected == pytest.approx(0.6497, abs=5e-5)


def test_fast_auc_equals_proc(asah):
    assert stats.fast_auc(asah["y"], asah["s100b"]) == pytest.approx(0.7313686, abs=1e-7)
    assert stats.fast_partial_auc(asah["y"], asah["wfns"], (1, 0.9)) == pytest.approx(0.03344, abs=5e-6)


def test_table2_clopper_pearson():
    m = stats.confusion_metrics(tp=29, fp=23, tn=108, fn=10).row(0, named=True)
    got = {k: round(m[k], 3) for k in m}
    assert (got["sensitivity"], got["sensitivity_lower"], got["sensitivity_upper"]) == (0.744, 0.579, 0.870)
    assert (got["specificity"], got["specificity_lower"], got["specificity_upper"]) == (0.824, 0.748, 0.885)
    assert (got["ppv"], got["ppv_lower"], got["ppv_upper"]) == (0.558, 0.413, 0.695)
    assert (got["npv"], got["npv_lower"], got["npv_upper"]) == (0.915, 0.850, 0.959)


def _groups() -> pl.DataFrame:
    """Patients rebuilt from the reference study's Table 1 interaction-group counts."""
    rows = []
    for muscle, disc, non_events, events in [(1, 1, 11, 20), (0, 1, 12, 9), (1, 0, 32, 7), (0, 0, 76, 3)]:
        rows += [(muscle, disc, 0)] * non_events + [(muscle, disc, 1)] * events
    return pl.DataFrame(rows, schema=["muscle", "disc", "y"], orient="row")


def test_table4_from_group_counts():
    t4 = stats.interaction_groups(_groups(), "y", "muscle", "disc", 0.5, 0.5)
    assert t4["group"].to_list() == ["High/High", "Low/High", "High/Low", "Low/Low"]
    other = t4.filter(~pl.col("reference"))
    assert [round(x, 3) for x in other["b"]] == [-0.886, -2.118, -3.830]
    assert [round(x, 3) for x in other["se"]] == [0.579, 0.561, 0.698]
    # saturated model: each OR is the cross-product ratio against High/High (20 events, 11 not)
    assert other["or"].to_list() == pytest.approx([9 * 11 / (12 * 20), 7 * 11 / (32 * 20), 3 * 11 / (76 * 20)], rel=1e-8)
    assert [round(x, 3) for x in other["or_lower"]] == [0.129, 0.038, 0.005]
    assert [round(x, 3) for x in other["or_upper"]] == [1.267, 0.346, 0.075]


def test_table1_tests_from_counts():
    g = _groups().with_columns(
        (pl.when(pl.col("muscle") == 1).then(pl.lit("High")).otherwise(pl.lit("Low")) + "/"
         + pl.when(pl.col("disc") == 1).then(pl.lit("High")).otherwise(pl.lit("Low")))
        .cast(pl.Enum(["High/High", "Low/High", "High/Low", "Low/Low"])).alias("group"),
        pl.Series("gender", ["female"] * 72 + ["male"] * 98),
    )
    t1 = stats.table_one(g, "y", ["group"], fisher="cochran")
    assert t1["level"].to_list() == ["High/High", "Low/High", "High/Low", "Low/Low"]
    assert round(t1["statistic"][0], 2) == 51.95
    assert t1["total"][0] == "31 (18.24)"
