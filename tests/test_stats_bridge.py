"""The rpy2 bridge: data as R objects, R's error messages, bad input refused whole."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from spinedlr import stats
from spinedlr.errors import SpinedlrError


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    rng = np.random.default_rng(1)
    y = rng.binomial(1, 0.3, 120)
    return pl.DataFrame({
        "y": y,
        "score": rng.normal(size=120) + y,
        "age": rng.normal(60, 10, 120),
        "grade": pl.Series(rng.choice(["III", "IV", "V"], 120)).cast(pl.Enum(["V", "IV", "III"])),
    })


def test_user_strings_are_data_not_code(data):
    odd = 'x"); stop("injected'
    df = data.rename({"score": odd})
    r = stats.roc_summary(df, odd, "y")
    assert r["score"][0] == odd
    assert r["auc"][0] == pytest.approx(stats.fast_auc(df["y"], df[odd]))


def test_enum_levels_keep_their_order_and_first_is_reference(data):
    m = stats.fit_models(data, "y", ["score"], ["grade"])
    assert m.filter(pl.col("model") == "adjusted")["term"].to_list() == ["intercept", "score", "grade=IV", "grade=III"]


def test_predictions_match_refit_risk_range(data):
    p = stats.predict_models(data, "y", ["score"], ["age"])
    assert p.height == 2 * data.height
    assert p["risk"].is_between(0, 1).all()


@pytest.mark.parametrize(
    ("change", "call", "message"),
    [
        (lambda d: d.with_columns(pl.lit(1).alias("y")), "roc", "only one class"),
        (lambda d: d.with_columns(pl.col("y") * 2), "roc", "must be 0/1"),
        (lambda d: d.with_columns(pl.when(pl.col("age") > 70).then(float("nan")).otherwise(pl.col("score")).alias("score")),
         "roc", "missing or non-finite"),
        (lambda d: d.with_columns(pl.lit("a").alias("grade")), "fit", "covariate 'grade' has only one level"),
        (lambda d: d.with_columns((pl.col("y") * 10.0).alias("score")), "fit", "complete separation"),
        (lambda d: d.head(40).with_columns(pl.Series("y", [1] * 5 + [0] * 35)), "validate", "than folds"),
    ],
)
def test_bad_input_raises_with_r_message(data, change, call, message):
    bad = change(data)
    run = {
        "roc": lambda: stats.roc_summary(bad, "score", "y"),
        "fit": lambda: stats.fit_models(bad, "y", ["score"], ["grade"]),
        "validate": lambda: stats.validate_model(bad, "y", ["score"], k=10, boot_n=0),
    }[call]
    with pytest.raises(stats.StatsError, match=message) as err:
        run()
    assert isinstance(err.value, SpinedlrError)


def test_starting_r_leaves_child_processes_a_working_python() -> None:
    """rpy2 rewrites LD_LIBRARY_PATH; spawned workers (extraction, Dask) must still start."""
    import subprocess
    import sys

    import polars as pl

    from spinedlr import stats

    stats.roc_summary(pl.DataFrame({"s": [1.0, 2, 3, 4, 5, 6], "y": [0, 0, 1, 0, 1, 1]}), "s", "y")
    res = subprocess.run([sys.executable, "-c", "import ssl, multiprocessing"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_classed_r_results_arrive_as_their_documented_columns(data):
    """R results carry S3 classes (print/autoplot); Python must still get the plain columns."""
    from spinedlr.stats.bridge import _invoke, _r, from_r

    raw = _invoke("roc_summary", {"data": data, "score": "score", "outcome": "y"})
    ro = _r()["ro"]
    assert list(ro.r["class"](raw)) == ["spinedlr_roc", "spinedlr_result", "data.frame"]
    plain = ro.r["as.data.frame"](raw)
    assert list(ro.r["class"](plain)) == ["data.frame"]
    assert from_r(raw).equals(from_r(plain))
    assert from_r(raw).columns[:6] == ["score", "n", "n_events", "auc", "auc_lower", "auc_upper"]
