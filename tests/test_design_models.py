"""Model registry: every classifier fits both outcome kinds; the search sees training rows only;
calibration is fitted on the validation rows."""

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from spinedlr.design.calibration import calibrate
from spinedlr.design.models import (
    MODEL_NAMES,
    REGISTRY,
    ModelSpec,
    check_grid,
    cross_val_proba,
    fit_model,
    macro_ovr_auc,
    predict_proba,
)
from spinedlr.design.settings import ModelSettings
from spinedlr.design.splits import FixedSplit, PatientKFold


def _data(n_patients=40, classes=2, seed=0):
    """Two rows per patient, class driven by the first two features."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_patients), 2)
    X = rng.normal(size=(2 * n_patients, 4))
    signal = X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=len(X))
    cuts = np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])
    return X, np.digitize(signal, cuts), groups


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("classes", [2, 3])
def test_every_registered_model_fits_and_predicts(name, classes):
    X, y, groups = _data(classes=classes)
    spec = REGISTRY[name]
    if spec.binary_only and classes > 2:
        with pytest.raises(ValueError, match=f"model {name} needs a binary outcome"):
            fit_model(spec, X, y, groups, folds=2)
        return
    model = fit_model(spec, X, y, groups, folds=2, seed=1)
    p = predict_proba(model, X, classes)
    assert p.shape == (len(y), classes)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    majority = np.bincount(y).max() / len(y)
    assert (p.argmax(axis=1) == y).mean() > majority  # learned something from the signal
    assert set(model.best_params_) == {spec.prefix + k for k in spec.grid}


GRID = {"max_depth": [3]}


def test_same_seed_same_model():
    X, y, groups = _data(classes=3)
    a = predict_proba(fit_model(REGISTRY["random_forest"], X, y, groups, folds=2, seed=4, grid=GRID), X, 3)
    b = predict_proba(fit_model(REGISTRY["random_forest"], X, y, groups, folds=2, seed=4, grid=GRID), X, 3)
    c = predict_proba(fit_model(REGISTRY["random_forest"], X, y, groups, folds=2, seed=5, grid=GRID), X, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


LOG: list[tuple[str, frozenset]] = []


class RowRecorder(ClassifierMixin, BaseEstimator):
    """Probe: column 0 holds the row number; records which rows each fit and score sees."""

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def fit(self, X, y):
        LOG.append(("fit", frozenset(X[:, 0].astype(int).tolist())))
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression().fit(X[:, 1:], y)
        return self

    def predict_proba(self, X):
        LOG.append(("score", frozenset(X[:, 0].astype(int).tolist())))
        return self.model_.predict_proba(X[:, 1:] + self.shift)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def test_search_sees_only_training_rows_and_never_splits_a_patient():
    X, y, groups = _data()
    X = np.column_stack([np.arange(len(y)), X])
    probe = ModelSpec("probe", lambda seed: RowRecorder(), {"shift": [0.0, 0.5]})
    for train, test in PatientKFold(4, random_state=0).split(X, y, groups):
        LOG.clear()
        fit_model(probe, X[train], y[train], groups[train], folds=3, seed=0)
        seen = set().union(*(rows for _, rows in LOG))
        assert seen <= set(train.tolist()) and not seen & set(test.tolist())
        pairs = [(LOG[i][1], LOG[i + 1][1]) for i in range(0, 12, 2)]  # 2 candidates x 3 folds
        assert [k for k, _ in LOG[:12]] == ["fit", "score"] * 6
        for fit_rows, score_rows in pairs:
            assert not set(groups[list(fit_rows)]) & set(groups[list(score_rows)])
        assert LOG[12] == ("fit", frozenset(train.tolist()))  # the refit: all training rows


def test_cross_val_proba_predicts_each_row_from_a_model_that_never_saw_it():
    X, y, groups = _data()
    X = np.column_stack([np.arange(len(y)), X])
    probe = ModelSpec("probe", lambda seed: RowRecorder(), {"shift": [0.0]})
    LOG.clear()
    p = cross_val_proba(probe, X, y, groups, PatientKFold(5, random_state=2), folds=2)
    assert not np.isnan(p).any()
    # each outer refit (its rows and its test rows together make the cohort) and its scoring
    outer_refit_scores = [(LOG[i][1], LOG[i + 1][1]) for i in range(len(LOG) - 1)
                          if LOG[i][0] == "fit" and LOG[i + 1][0] == "score"
                          and len(LOG[i][1]) + len(LOG[i + 1][1]) == len(y)]
    assert len(outer_refit_scores) == 5
    for fit_rows, score_rows in outer_refit_scores:
        assert not set(groups[list(fit_rows)]) & set(groups[list(score_rows)])


def test_grid_from_config_replaces_the_default_and_is_checked():
    X, y, groups = _data()
    m = fit_model(REGISTRY["lr"], X, y, groups, grid={"C": [0.5]}, folds=2)
    assert m.best_params_ == {"clf__C": 0.5}
    with pytest.raises(ValueError, match="model svm: unknown hyper-parameter.*Cc.*its parameters are .*C, "):
        check_grid("svm", {"Cc": [1]})
    with pytest.raises(ValidationError, match="model lightgbm: unknown hyper-parameter.*max_leaves"):
        ModelSettings(name="lightgbm", grid={"max_leaves": [3]})
    with pytest.raises(ValidationError, match="model xgboost: grid entries max_depth list no values"):
        ModelSettings(name="xgboost", grid={"max_depth": []})
    assert ModelSettings(name="xgboost", grid={"max_depth": [2]}).grid == {"max_depth": [2]}


def test_isotonic_calibration_is_monotone_and_fitted_on_the_validation_rows():
    X, y, groups = _data(n_patients=150, seed=3)
    roles = FixedSplit(0.6, 0.2, 0.2, random_state=0).roles(X, y, groups)
    tr, va, te = roles["train"], roles["validation"], roles["test"]
    model = LogisticRegression(C=100).fit(X[tr], y[tr])
    cal = calibrate(model, X[va], y[va], "isotonic")
    raw, new = model.predict_proba(X[te])[:, 1], cal.predict_proba(X[te])[:, 1]
    order = np.argsort(raw)
    assert np.all(np.diff(new[order]) >= -1e-12)  # a monotone map of the raw probability
    assert not np.allclose(raw, new)
    # Isotonic regression keeps the mean of what it was fitted on: the validation event rate.
    assert cal.predict_proba(X[va])[:, 1].mean() == pytest.approx(y[va].mean(), abs=1e-9)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_multiclass_calibration_sums_to_one(method):
    X, y, groups = _data(n_patients=120, classes=3, seed=1)
    roles = FixedSplit(0.6, 0.2, 0.2, random_state=0).roles(X, y, groups)
    model = fit_model(REGISTRY["random_forest"], X[roles["train"]], y[roles["train"]],
                      groups[roles["train"]], folds=2, grid={"max_depth": [3]})
    cal = calibrate(model, X[roles["validation"]], y[roles["validation"]], method)
    p = cal.predict_proba(X[roles["test"]])
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-9)
    assert not np.allclose(p, model.predict_proba(X[roles["test"]]))


def test_calibration_needs_every_class_in_the_validation_rows():
    X, y, _ = _data(classes=3)
    model = LogisticRegression().fit(X, y)
    assert calibrate(model, X, y, "none") is model
    with pytest.raises(ValueError, match=r"no case of class\(es\) \[2\]"):
        calibrate(model, X[y < 2], y[y < 2], "isotonic")


def test_multiclass_search_scorer_survives_a_fold_without_a_class():
    """With every class present the scorer is scikit-learn's macro one-vs-rest AUROC; a fold
    lacking a class scores over the classes it has (by hand) instead of NaN, so the search
    still ranks its grid points (sklearn's roc_auc_ovr made every mean NaN)."""
    X, y, groups = _data(classes=3)
    model = LogisticRegression().fit(X, y)
    assert macro_ovr_auc(model, X, y) == pytest.approx(
        roc_auc_score(y, model.predict_proba(X), multi_class="ovr"))
    keep = y != 2
    p = model.predict_proba(X[keep])
    by_hand = np.mean([roc_auc_score(y[keep] == c, p[:, c]) for c in (0, 1)])
    assert macro_ovr_auc(model, X[keep], y[keep]) == pytest.approx(by_hand)
    # a rare class that some inner folds lack: every grid point still gets a finite score
    y_rare = y.copy()
    y_rare[y_rare == 2] = 1
    y_rare[groups < 3] = 2  # three patients only
    search = fit_model(REGISTRY["lr"], X, y_rare, groups, folds=5)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_out_of_fold_calibration_maps_the_models_probabilities():
    """calibrate_out_of_fold: temperature keeps every row's most probable class, isotonic
    rows sum to one; a missing out-of-fold row or a validation-split method is refused."""
    from spinedlr.design.calibration import calibrate_out_of_fold

    X, y, groups = _data(n_patients=120, classes=3, seed=2)
    spec = REGISTRY["lr"]
    oof = cross_val_proba(spec, X, y, groups, PatientKFold(5, random_state=0), folds=2, grid={"C": [1.0]})
    model = fit_model(spec, X, y, groups, folds=2, grid={"C": [1.0]})
    X_new = _data(n_patients=30, classes=3, seed=9)[0]
    raw = model.predict_proba(X_new)
    temp = calibrate_out_of_fold(model, oof, y, "temperature_cv").predict_proba(X_new)
    np.testing.assert_array_equal(temp.argmax(axis=1), raw.argmax(axis=1))
    assert not np.allclose(temp, raw)
    iso = calibrate_out_of_fold(model, oof, y, "isotonic_cv").predict_proba(X_new)
    np.testing.assert_allclose(iso.sum(axis=1), 1, atol=1e-9)
    with pytest.raises(ValueError, match="out-of-fold prediction"):
        calibrate_out_of_fold(model, np.vstack([oof[:-1], np.full(3, np.nan)]), y, "isotonic_cv")
    with pytest.raises(ValueError, match="isotonic_cv"):
        calibrate_out_of_fold(model, oof, y, "isotonic")
