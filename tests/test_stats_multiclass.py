"""Multi-class metrics, kappa, readers and the nomogram through the bridge, against
independent Python computations (scikit-learn)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, average_precision_score, cohen_kappa_score, f1_score,
                             matthews_corrcoef, recall_score, roc_auc_score)

from spinedlr.stats import multiclass as mc


@pytest.fixture(scope="module")
def graded() -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """120 discs of 40 patients, five grades, noisy probabilities with ties (rounded)."""
    rng = np.random.default_rng(7)
    y = rng.integers(1, 6, 120)
    logits = -np.abs(y[:, None] - np.arange(1, 6)[None, :]) + rng.normal(0, 1.2, (120, 5))
    p = np.round(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 2)
    p = p / p.sum(1, keepdims=True)
    df = pl.DataFrame({"patient": np.repeat(np.arange(40), 3), "grade": y,
                       **{f"p{k}": p[:, k - 1] for k in range(1, 6)}})
    return df, y, p


def _row(res: pl.DataFrame, metric: str, cls: str | None = None) -> dict:
    f = pl.col("metric") == metric
    f = f & (pl.col("class").is_null() if cls is None else pl.col("class") == cls)
    return res.filter(f).row(0, named=True)


def test_multiclass_metrics_match_sklearn(graded):
    df, y, p = graded
    res = mc.multiclass_metrics(df, "grade", [f"p{k}" for k in range(1, 6)], groups="patient", B=100, seed=3)
    pred = p.argmax(1) + 1
    onehot = (y[:, None] == np.arange(1, 6)).astype(float)
    assert _row(res, "macro_auroc")["estimate"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    # scikit-learn's one-vs-one macro AUC is Hand & Till's
    assert _row(res, "hand_till_auc")["estimate"] == pytest.approx(roc_auc_score(y, p, multi_class="ovo", average="macro"))
    assert _row(res, "macro_auprc")["estimate"] == pytest.approx(average_precision_score(onehot, p, average="macro"))
    assert _row(res, "macro_f1")["estimate"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert _row(res, "accuracy")["estimate"] == pytest.approx(accuracy_score(y, pred))
    assert _row(res, "mcc")["estimate"] == pytest.approx(matthews_corrcoef(y, pred))
    assert _row(res, "brier")["estimate"] == pytest.approx(((p - onehot) ** 2).sum(1).mean())
    assert _row(res, "auroc", "3")["estimate"] == pytest.approx(roc_auc_score(y == 3, p[:, 2]))
    acc = _row(res, "accuracy")
    assert acc["lower"] < acc["estimate"] < acc["upper"] and acc["n_boot"] == 100
    cm = mc.multiclass_confusion(df, "grade", [f"p{k}" for k in range(1, 6)], B=0)
    diag = cm.filter(pl.col("truth") == pl.col("predicted")).sort("truth")
    assert diag["proportion"].to_list() == pytest.approx(recall_score(y, pred, average=None).tolist())
    assert cm["n"].sum() == 120


def test_hand_till_of_one_score_and_ordinal_baseline(graded):
    df, y, p = graded
    score = p @ np.arange(1, 6)  # expected grade
    pairs = [(i, j) for i in range(1, 6) for j in range(i + 1, 6)]
    ref = np.mean([roc_auc_score(y[np.isin(y, (i, j))] == j, score[np.isin(y, (i, j))]) for i, j in pairs])
    assert mc.hand_till_auc(y.tolist(), score) == pytest.approx(ref)
    probs = mc.ordinal_probabilities(df.with_columns(score=pl.Series(score)), "grade", ["score"])
    assert probs.columns == [f"prob_{k}" for k in range(1, 6)] + ["predicted"]
    assert probs.select(pl.sum_horizontal(pl.exclude("predicted"))).to_series().to_list() == pytest.approx([1.0] * 120)


def test_kappa_and_readers_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    a = np.where(rng.random(80) < 0.8, y, 1 - y)
    b = np.where(rng.random(80) < 0.7, y, 1 - y)
    risk = np.clip(0.5 * y + rng.normal(0.25, 0.2, 80), 0, 1)
    df = pl.DataFrame({"y": y, "a": a, "b": b, "risk": risk})
    k = mc.cohen_kappa(df, "a", "b").row(0, named=True)
    assert k["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert k["kappa_lower"] < k["kappa"] < k["kappa_upper"]
    r = mc.rater_comparison(df, "y", "risk", 0.5, ["a", "b"])
    assert r["reader"].to_list() == ["risk", "a", "b"]
    for row, pred in zip(r.iter_rows(named=True), [(risk >= 0.5).astype(int), a, b]):
        assert row["f1"] == pytest.approx(f1_score(y, pred))
        assert row["sensitivity"] == pytest.approx(recall_score(y, pred))
        assert row["accuracy"] == pytest.approx(accuracy_score(y, pred))
        assert row["f1_lower"] < row["f1"] < row["f1_upper"]


def test_nomogram_points_give_the_logistic_risk():
    rng = np.random.default_rng(4)
    x1 = rng.normal(50, 10, 200)
    x2 = rng.normal(0, 1, 200)
    y = (rng.random(200) < 1 / (1 + np.exp(-(-3 + 0.05 * x1 + 0.8 * x2)))).astype(int)
    nm = mc.nomogram(pl.DataFrame({"y": y, "x1": x1, "x2": x2}), "y", ["x1", "x2"])
    pts = nm.points
    assert pts.filter(pl.col("kind") == "predictor")["points"].max() == pytest.approx(100)
    risk_axis = pts.filter(pl.col("kind") == "risk")
    assert nm.risk(risk_axis["points"]) == pytest.approx(risk_axis["value"].cast(pl.Float64).to_numpy(), abs=1e-4)
    # a patient at two ticks: the points summed from the table give the unpenalised fit's risk
    t1 = pts.filter(pl.col("axis") == "x1").row(2, named=True)
    t2 = pts.filter(pl.col("axis") == "x2").row(1, named=True)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(np.c_[x1, x2], y)
    ref = lr.predict_proba([[float(t1["value"]), float(t2["value"])]])[0, 1]
    assert nm.risk([t1["points"] + t2["points"]])[0] == pytest.approx(ref, abs=1e-5)
