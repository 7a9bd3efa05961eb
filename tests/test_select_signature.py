"""Out-of-fold signatures: equal to cross_val_predict, never in-sample, grouped by patient."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from spinedlr.select.signature import OutOfFoldSignature


class Memoriser(ClassifierMixin, BaseEstimator):
    """Probe: remembers the patient ids (column 0) it was fitted on; P(y=1) = 1 if seen."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.seen_ = set(X[:, 0].tolist())
        return self

    def predict_proba(self, X):
        seen = np.array([pid in self.seen_ for pid in X[:, 0]], dtype=float)
        return np.c_[1 - seen, seen]


def cohort(seed=0, patients=60, rows_per=1):
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(patients), rows_per).astype(float)
    y_pat = np.zeros(patients, dtype=int)
    y_pat[rng.choice(patients, patients // 3, replace=False)] = 1
    y = np.repeat(y_pat, rows_per)
    X = np.c_[pid, rng.normal(size=(len(y), 4)) + 0.8 * y[:, None]]
    return X, y, pid


def test_training_signatures_equal_cross_val_predict_with_the_same_folds():
    X, y, _ = cohort()
    lr = LogisticRegression()
    sig = OutOfFoldSignature(lr, cv=5, name="rad_sign", random_state=3)
    out = sig.fit_transform(X, y)
    ref = cross_val_predict(lr, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=3),
                            method="predict_proba")[:, 1]
    np.testing.assert_array_equal(out[:, 0], ref)
    np.testing.assert_array_equal(sig.oof_, ref)
    # new rows: the model refitted on all training rows
    new = np.random.default_rng(9).normal(size=(7, 5))
    np.testing.assert_allclose(sig.transform(new)[:, 0],
                               LogisticRegression().fit(X, y).predict_proba(new)[:, 1])
    assert sig.get_feature_names_out().tolist() == ["rad_sign"]
    # and it differs from the in-sample probability (what a leaky signature would use)
    assert np.abs(sig.transform(X)[:, 0] - ref).max() > 0.01


def test_grouped_folds_equal_cross_val_predict_and_never_see_the_patient():
    X, y, pid = cohort(1, patients=50, rows_per=3)
    sig = OutOfFoldSignature(Memoriser(), cv=5, random_state=0)
    out = sig.fit_transform(X, y, groups=pid)
    assert (out == 0).all()  # no row's signature came from a model that saw its patient
    assert (sig.transform(X) == 1).all()  # transform of training rows is in-sample (documented)
    ref = cross_val_predict(LogisticRegression(), X[:, 1:], y, groups=pid,
                            cv=StratifiedGroupKFold(5, shuffle=True, random_state=0),
                            method="predict_proba")[:, 1]
    lr = OutOfFoldSignature(LogisticRegression(), cv=5).fit(X[:, 1:], y, groups=pid)
    np.testing.assert_array_equal(lr.oof_, ref)
    for tr, te in lr.folds_:
        assert not set(pid[tr]) & set(pid[te])


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_ungrouped_rows_of_one_patient_would_leak_and_a_leaky_splitter_is_refused():
    X, y, pid = cohort(2, patients=40, rows_per=3)
    # without groups, rows of the same patient land on both sides: the probe sees them
    assert (OutOfFoldSignature(Memoriser(), cv=5).fit_transform(X, y) == 1).any()
    with pytest.raises(ValueError, match="both sides"):
        OutOfFoldSignature(Memoriser(), cv=KFold(5, shuffle=True, random_state=0)).fit(
            X, y, groups=pid)


def test_in_a_pipeline_the_next_step_is_fitted_on_out_of_fold_signatures():
    X, y, pid = cohort(3, patients=80)
    pipe = Pipeline([("sig", OutOfFoldSignature(LogisticRegression(), cv=4, name="dl_sign")),
                     ("combined", LogisticRegression())])
    pipe.fit(X[:, 1:], y, sig__groups=pid)
    oof = pipe.named_steps["sig"].oof_
    ref = LogisticRegression().fit(oof[:, None], y)
    np.testing.assert_allclose(pipe.named_steps["combined"].coef_, ref.coef_)
    assert pipe[:-1].get_feature_names_out().tolist() == ["dl_sign"]


def test_bad_input_is_a_clear_error():
    X, y, pid = cohort(4, patients=30)
    with pytest.raises(ValueError, match="predict_proba"):
        OutOfFoldSignature(LinearSVC()).fit(X, y)
    with pytest.raises(ValueError, match="both classes"):
        OutOfFoldSignature(LogisticRegression()).fit(X, np.ones(len(y), int))
    with pytest.raises(ValueError, match="at least 20 patients in each outcome class"):
        OutOfFoldSignature(LogisticRegression(), cv=20).fit(X, y)
    with pytest.raises(ValueError, match="too few"):
        OutOfFoldSignature(LogisticRegression(), cv=5).fit(X, y, groups=pid % 4)
    with pytest.raises(ValueError, match="signature name"):
        OutOfFoldSignature(LogisticRegression(), name="rad sign").fit(X, y)
    bad = X.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        OutOfFoldSignature(LogisticRegression()).fit(bad, y)
