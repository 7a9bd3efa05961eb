"""Decision curves against the Python dcurves package on its own df_binary data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from spinedlr import stats

dcurves = pytest.importorskip("dcurves")
THRESHOLDS = [round(i / 100, 2) for i in range(1, 100)]


@pytest.fixture(scope="module")
def df_binary():
    import pandas as pd

    return pd.read_csv(Path(dcurves.data) / "df_binary.csv").assign(cancer=lambda d: d["cancer"].astype(int))


def test_decision_curve_equals_dcurves_at_every_threshold(df_binary):
    models = ["cancerpredmarker", "famhistory"]
    ref = pl.from_pandas(dcurves.dca(data=df_binary, outcome="cancer", modelnames=models, thresholds=THRESHOLDS)
                         [["model", "threshold", "net_benefit", "net_intervention_avoided"]])
    ours = stats.decision_curve(pl.from_pandas(df_binary[["cancer", *models]]), "cancer", models, THRESHOLDS)
    joined = ref.with_columns(pl.col("threshold").round(2)).join(
        ours.with_columns(pl.col("threshold").round(2)), on=["model", "threshold"], suffix="_ours")
    assert joined.height == ref.height == 4 * len(THRESHOLDS)
    for col in ("net_benefit", "net_intervention_avoided"):
        diff = (joined[col] - joined[f"{col}_ours"]).abs().max()
        assert diff < 1e-9, col
    at = ours.filter(pl.col("threshold").round(2) == 0.25)
    nb = dict(zip(at["model"], at["net_benefit"]))
    assert round(nb["cancerpredmarker"], 4) == 0.0640
    assert round(nb["all"], 5) == -0.14667
    nia = dict(zip(at["model"], at["net_intervention_avoided"]))
    assert round(nia["cancerpredmarker"], 3) == 0.632
