"""Classifier comparison (Fan et al. 2024): the selection chain and the grid search see only
training folds; AUCs are the R package's; the top-3 vote and the DeLong matrix give known
answers."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline

from spinedlr.compare import Cohort, compare_classifiers, delong_matrix, top_k_vote
from spinedlr.design.models import ModelSpec
from spinedlr.design.splits import PatientKFold
from spinedlr.select.screening import MannWhitneyScreen

FAST = {"lr": {"C": [0.1, 1.0]}, "knn": {"n_neighbors": [5, 9]}}


def cohort(n_patients: int, seed: int, rows_per_patient: int = 1, shift: float = 0.0) -> Cohort:
    """Signal in s1 (strong) and s2 (weak); n1..n3 noise; ``shift`` moves every feature."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_patients), rows_per_patient)
    y = rng.integers(0, 2, n_patients)[groups]
    n = len(y)
    cols = {"s1": 1.5 * y + rng.normal(size=n), "s2": 0.6 * y + rng.normal(size=n)}
    cols |= {f"n{j}": rng.normal(size=n) for j in range(1, 4)}
    return Cohort(pl.DataFrame({k: v + shift for k, v in cols.items()}), y, groups)


SETS = {"rad": ["s1", "n1", "n2"], "clin": ["s2", "n3"]}


@pytest.fixture(scope="module")
def comparison():
    return compare_classifiers(cohort(40, 0, rows_per_patient=2), SETS,
                               external=cohort(50, 1, shift=0.3), models=["lr", "knn"], grids=FAST,
                               folds=4, inner_folds=3, seed=3, progress=False)


def test_every_classifier_and_feature_set_is_scored_in_cv_and_external(comparison):
    s = comparison.summary
    assert s.height == 2 * 2 * 2
    assert set(s["cohort"]) == {"cv", "external"}
    assert (s["auc_lower"] <= s["auc"]).all() and (s["auc"] <= s["auc_upper"]).all()
    assert s.filter(pl.col("cohort") == "cv")["n"].to_list() == [80] * 4
    assert s.filter(pl.col("cohort") == "external")["params"].is_not_null().all()
    # the strong feature set wins in both cohorts
    best = s.sort("auc", descending=True).group_by("cohort").first()
    assert set(best["feature_set"]) == {"rad"}


def test_auc_is_the_pooled_out_of_fold_auc(comparison):
    for (fs, model, cohort_), part in comparison.predictions.group_by(
            ["feature_set", "model", "cohort"]):
        row = comparison.summary.filter(pl.col("feature_set") == fs, pl.col("model") == model,
                                        pl.col("cohort") == cohort_)
        assert row["auc"][0] == pytest.approx(roc_auc_score(part["outcome"], part["probability"]),
                                              abs=1e-12)


def test_vote_and_delong_matrix_of_the_winner(comparison):
    assert comparison.winner == comparison.vote["model"][0]
    d = comparison.delong
    assert d.columns == ["cohort", "model", "rad", "clin"]
    assert d["cohort"].to_list() == ["cv", "cv", "external", "external"]
    assert d["rad"][0] is None and d["clin"][1] is None
    assert d["clin"][0] == d["rad"][1]


def test_same_seed_same_result_and_seed_changes_folds():
    args = dict(models=["lr"], grids=FAST, folds=3, inner_folds=3, progress=False)
    a = compare_classifiers(cohort(30, 4), SETS, seed=1, **args).predictions
    b = compare_classifiers(cohort(30, 4), SETS, seed=1, **args).predictions
    c = compare_classifiers(cohort(30, 4), SETS, seed=2, **args).predictions
    assert a.equals(b)
    assert not a.equals(c)
    parallel = compare_classifiers(cohort(30, 4), SETS, seed=1, n_jobs=2, **args).predictions
    assert parallel.equals(a)  # pairs in worker processes: the same folds, seeds and rows


class RowSpy(TransformerMixin, BaseEstimator):
    """Passes X through; records the row ids (column 0) of every fit."""

    fits: ClassVar[list[frozenset]] = []

    def fit(self, X, y=None):
        RowSpy.fits.append(frozenset(np.asarray(X)[:, 0].astype(int).tolist()))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return X


def test_selection_and_search_are_fitted_on_training_folds_only():
    c = cohort(30, 5, rows_per_patient=2)
    feats = c.features.with_columns(row=pl.int_range(0, pl.len()).cast(pl.Float64)).select("row", "s1")
    spy_model = ModelSpec("spy_lr", lambda seed: Pipeline([("spy", RowSpy()), ("clf", LogisticRegression())]),
                          {"C": [1.0]}, "clf__")
    RowSpy.fits.clear()
    compare_classifiers(Cohort(feats, c.outcome, c.groups), {"all": ["row", "s1"]}, models=[spy_model],
                        selection=make_pipeline(RowSpy()), folds=3, inner_folds=2, seed=0,
                        progress=False)
    splits = list(PatientKFold(3, stratify=True, random_state=0).split(None, c.outcome, c.groups))
    # per outer fold: the selection's fit, then the search's 2 inner fits and its refit
    assert len(RowSpy.fits) == 3 * (1 + 2 + 1)
    for k, (train, test) in enumerate(splits):
        fits = RowSpy.fits[4 * k: 4 * (k + 1)]
        assert fits[0] == frozenset(train.tolist())  # the chain: exactly the training rows
        assert fits[-1] == frozenset(train.tolist())  # the refit of the best grid point
        for f in fits:
            assert not f & set(test.tolist())
        for f in fits[1:3]:  # inner folds never split a patient either
            held = set(train.tolist()) - f
            assert not {int(g) for g in c.groups[list(held)]} & {int(g) for g in c.groups[list(f)]}


def test_noise_selected_inside_folds_does_not_look_predictive():
    """600 noise features: a Mann-Whitney screen on all patients finds ~30 'predictive' ones,
    which look good in CV; refitted inside each training fold they predict nothing."""
    rng = np.random.default_rng(7)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 600))
    names = [f"f{j}" for j in range(600)]
    train = Cohort(pl.DataFrame(X, schema=names), y)
    screen = make_pipeline(MannWhitneyScreen(alpha=0.05))
    honest = compare_classifiers(train, {"noise": names}, models=["lr"], grids={"lr": {"C": [0.1]}},
                                 selection=screen, folds=5, inner_folds=3, seed=0, progress=False)
    keep = screen.fit(X, y)[0].get_support()  # leaky: screened on every patient first
    leaky = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        m = LogisticRegression(C=0.1, max_iter=5000).fit(X[tr][:, keep], y[tr])
        leaky[te] = m.predict_proba(X[te][:, keep])[:, 1]
    assert roc_auc_score(y, leaky) > 0.8
    assert abs(honest.summary["auc"][0] - 0.5) < 0.15


def test_top3_vote_known_answer():
    aucs = pl.DataFrame([
        ("A", "svm", .90), ("A", "lr", .88), ("A", "mlp", .85), ("A", "knn", .80), ("A", "rf", .70),
        ("B", "lr", .91), ("B", "svm", .89), ("B", "xgb", .87), ("B", "mlp", .86), ("B", "knn", .60),
        ("C", "mlp", .93), ("C", "rf", .92), ("C", "svm", .90), ("C", "lr", .70), ("C", "knn", .50),
    ], schema=["feature_set", "model", "auc"], orient="row")
    v = top_k_vote(aucs)
    # svm 3 votes; lr and mlp 2 each, mlp's mean AUC .880 > lr's .830; xgb (.87) and rf (.81) 1
    assert v["model"].to_list() == ["svm", "mlp", "lr", "xgb", "rf", "knn"]
    assert v["votes"].to_list() == [3, 2, 2, 1, 1, 0]
    assert v["winner"].to_list() == [True] + [False] * 5
    assert v["rank"].to_list() == [1, 2, 3, 4, 5, 6]


def test_top3_vote_tie_inside_a_feature_set_goes_by_name():
    aucs = pl.DataFrame({"feature_set": ["A"] * 4, "model": ["d", "c", "b", "a"],
                         "auc": [0.9, 0.8, 0.7, 0.7]})
    v = top_k_vote(aucs)
    assert v.filter(pl.col("votes") == 1)["model"].to_list() == ["d", "c", "a"]


def test_top3_vote_rejects_duplicates():
    with pytest.raises(ValueError, match="once"):
        top_k_vote(pl.DataFrame({"feature_set": ["A", "A"], "model": ["lr", "lr"], "auc": [.5, .6]}))


def test_delong_matrix_is_symmetric_and_equals_proc_roc_test():
    rng = np.random.default_rng(11)
    y = np.repeat([0, 1], 30)
    d = pl.DataFrame({"y": y, "a": y + rng.normal(size=60), "b": 0.5 * y + rng.normal(size=60),
                      "c": rng.normal(size=60)})
    m = delong_matrix(d, ["a", "b", "c"], "y")
    vals = m.select("a", "b", "c").to_numpy()
    assert np.isnan(np.diag(vals).astype(float)).all()
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(vals[off], vals.T[off], rtol=0, atol=0)

    from spinedlr.stats.bridge import _r
    ro = _r()["ro"]
    ro.globalenv["yy"], ro.globalenv["aa"], ro.globalenv["bb"] = (
        ro.FloatVector(y.astype(float)), ro.FloatVector(d["a"].to_list()), ro.FloatVector(d["b"].to_list()))
    p = ro.r("pROC::roc.test(pROC::roc(yy, aa, direction = '<', levels = c(0, 1), quiet = TRUE),"
             " pROC::roc(yy, bb, direction = '<', levels = c(0, 1), quiet = TRUE),"
             " method = 'delong', paired = TRUE)$p.value")[0]
    assert vals[0, 1] == pytest.approx(p, rel=1e-12)


def test_every_registered_classifier_runs_through_the_comparison():
    from spinedlr.design.models import MODEL_NAMES, REGISTRY
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = rng.normal(size=(40, 3)) + np.outer(y, [3.0, 0, 0])
    # one grid point each (the default's first value) keeps the run short
    grids = {n: {k: v[:1] for k, v in REGISTRY[n].grid.items()} for n in MODEL_NAMES}
    r = compare_classifiers(Cohort(pl.DataFrame(X, schema=["a", "b", "c"]), y), {"s": ["a", "b", "c"]},
                            grids=grids, folds=3, inner_folds=2, seed=0, progress=False)
    assert r.summary["model"].to_list() == list(MODEL_NAMES)
    assert (r.summary["auc"] > 0.6).all(), r.summary.select("model", "auc").rows()  # each learns
    assert r.vote["votes"].sum() == 3
    assert r.delong.is_empty()  # one feature set: nothing to compare


def _readers(seed=3, n=80):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    risk = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(size=n))))
    call = lambda acc: np.where(rng.random(n) < acc, y, 1 - y)  # noqa: E731
    return pl.DataFrame({"y": y, "risk": risk, "surgeon_a": call(0.8), "surgeon_b": call(0.7),
                         "surgeon_c": call(0.6)})


def test_model_vs_raters_adds_each_readers_auc():
    from spinedlr.compare import model_vs_raters
    d = _readers()
    t = model_vs_raters(d, "y", "risk", 0.5, ["surgeon_a", "surgeon_b"])
    assert t["reader"].to_list() == ["risk", "surgeon_a", "surgeon_b"]
    assert t["auc"][0] == pytest.approx(roc_auc_score(d["y"], d["risk"]))
    raters = t.filter(pl.col("kind") == "rater")
    # a 0/1 call's AUC is (sensitivity + specificity) / 2
    np.testing.assert_allclose(raters["auc"], (raters["sensitivity"] + raters["specificity"]) / 2)
    tp = int(((d["surgeon_a"] == 1) & (d["y"] == 1)).sum())
    assert raters["tp"][0] == tp


def test_rater_agreement_has_one_row_per_pair_and_the_hand_kappa():
    from spinedlr.compare import rater_agreement
    d = _readers()
    t = rater_agreement(d, ["surgeon_a", "surgeon_b", "surgeon_c"])
    assert list(zip(t["rater1"], t["rater2"])) == [("surgeon_a", "surgeon_b"), ("surgeon_a", "surgeon_c"),
                                                   ("surgeon_b", "surgeon_c")]
    a, b = d["surgeon_a"].to_numpy(), d["surgeon_b"].to_numpy()
    po = np.mean(a == b)
    pe = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    assert t["kappa"][0] == pytest.approx((po - pe) / (1 - pe))


def test_bad_feature_sets_and_rank_by_are_refused_before_any_fit():
    c = cohort(20, 0)
    with pytest.raises(ValueError, match="'x'.*bmi"):
        compare_classifiers(c, {"x": ["s1", "bmi"]}, models=["lr"], progress=False)
    with pytest.raises(ValueError, match="'ext'.*s2"):
        compare_classifiers(c, {"ext": ["s1", "s2"]}, external=Cohort(c.features.drop("s2"), c.outcome),
                            models=["lr"], progress=False)
    with pytest.raises(ValueError, match="needs an external cohort"):
        compare_classifiers(c, SETS, models=["lr"], rank_by="external", progress=False)
    with pytest.raises(ValueError, match="unknown model 'catboost'"):
        compare_classifiers(c, SETS, models=["catboost"], progress=False)


def test_external_params_name_the_models_own_hyper_parameters(comparison):
    import json
    ext = comparison.summary.filter(pl.col("cohort") == "external")
    keys = {m: set(json.loads(p)) for m, p in zip(ext["model"], ext["params"])}
    assert keys == {"lr": {"C"}, "knn": {"n_neighbors"}}
