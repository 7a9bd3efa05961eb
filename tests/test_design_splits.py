"""Patient-grouped splitters: no patient on both sides, stratified, seeded, complete."""

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from spinedlr.design import settings as ds
from spinedlr.design.schemes import make_splitter
from spinedlr.design.splits import (
    ColumnRoles,
    FixedSplit,
    LeaveOneGroupOutByPatient,
    LeaveOnePatientOut,
    PatientBootstrap,
    PatientKFold,
)
from spinedlr.errors import InputError


def _cohort(n_patients=60, seed=0):
    """1-4 rows (discs) per patient; the patient's class and scanner hold for all its rows."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(1, 5, n_patients)
    groups = np.repeat(np.arange(100, 100 + n_patients), rows)
    patient_class = rng.choice(3, n_patients, p=[0.5, 0.3, 0.2])
    y = np.repeat(patient_class, rows)
    scanner = np.repeat(rng.choice(["A", "B", "C", "D"], n_patients), rows)
    X = rng.normal(size=(len(y), 3))
    return X, y, groups, scanner


X, Y, G, SCANNER = _cohort()
SPLITTERS = [
    PatientKFold(5, random_state=1),
    PatientKFold(4, n_repeats=3, random_state=1),
    LeaveOnePatientOut(),
    PatientBootstrap(20, random_state=1),
    FixedSplit(random_state=1),
    LeaveOneGroupOutByPatient(SCANNER),
]


@pytest.mark.parametrize("splitter", SPLITTERS, ids=lambda s: type(s).__name__)
def test_no_patient_on_both_sides_and_split_count(splitter):
    splits = list(splitter.split(X, Y, G))
    assert len(splits) == splitter.get_n_splits(X, Y, G)
    for train, test in splits:
        assert len(test) and not set(G[train]) & set(G[test])


@pytest.mark.parametrize("splitter", SPLITTERS[:5], ids=lambda s: type(s).__name__)
def test_same_seed_same_splits_other_seed_other_splits(splitter):
    def run(seed):
        if hasattr(splitter, "random_state"):
            splitter.random_state = seed
        return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(X, Y, G)]
    assert run(7) == run(7)
    if hasattr(splitter, "random_state"):
        assert run(7) != run(8)


def test_kfold_tests_every_row_once_per_repeat_and_stratifies_patients():
    splitter = PatientKFold(5, n_repeats=2, random_state=3)
    splits = list(splitter.split(X, Y, G))
    patient_class = {g: c for g, c in zip(G, Y)}
    overall = np.bincount(list(patient_class.values()), minlength=3)
    for r in range(2):
        tested = np.concatenate([te for _, te in splits[5 * r:5 * r + 5]])
        assert sorted(tested.tolist()) == list(range(len(Y)))
        for _, te in splits[5 * r:5 * r + 5]:
            fold = np.bincount([patient_class[g] for g in set(G[te])], minlength=3)
            assert np.all(np.abs(fold - overall / 5) <= 1)  # exact up to rounding


def test_kfold_needs_as_many_patients_as_folds():
    with pytest.raises(InputError, match="needs at least 10 patients; got 4"):
        next(PatientKFold(10).split(groups=[1, 1, 2, 3, 4]))


def test_bootstrap_draws_whole_patients_and_tests_out_of_bag():
    rows_of = {g: int((G == g).sum()) for g in np.unique(G)}
    oob = []
    for train, test in PatientBootstrap(50, random_state=0).split(X, Y, G):
        drawn, counts = np.unique(G[train], return_counts=True)
        assert all(c % rows_of[g] == 0 for g, c in zip(drawn, counts))  # all rows, each draw
        assert set(G[test]) == set(rows_of) - set(drawn)
        oob.append(len(set(G[test])) / len(rows_of))
    assert 0.30 < np.mean(oob) < 0.44  # (1 - 1/n)^n ~ 0.37


def test_fixed_split_fractions_per_class_and_disjoint_roles():
    roles = FixedSplit(0.6, 0.2, 0.2, random_state=5).roles(X, Y, G)
    patients = {r: set(G[idx]) for r, idx in roles.items()}
    assert not (patients["train"] & patients["validation"] or patients["train"] & patients["test"]
                or patients["validation"] & patients["test"])
    assert sum(len(i) for i in roles.values()) == len(Y)
    patient_class = {g: c for g, c in zip(G, Y)}
    for c in range(3):
        n_c = sum(1 for v in patient_class.values() if v == c)
        for role, frac in (("train", 0.6), ("validation", 0.2), ("test", 0.2)):
            got = sum(1 for g in patients[role] if patient_class[g] == c)
            assert abs(got - frac * n_c) <= 1, (c, role, got, n_c)


def test_fixed_split_without_validation():
    roles = FixedSplit(0.7, 0.0, 0.3, random_state=0).roles(X, Y, G)
    assert len(roles["validation"]) == 0
    assert abs(len(set(G[roles["test"]])) - 0.3 * 60) <= 3


def test_logo_holds_out_each_scanner_exactly_once():
    splits = list(LeaveOneGroupOutByPatient(SCANNER).split(X, Y, G))
    held = [set(SCANNER[te]) for _, te in splits]
    assert held == [{"A"}, {"B"}, {"C"}, {"D"}]
    for (train, test), s in zip(splits, "ABCD"):
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(Y)))
        assert set(np.flatnonzero(SCANNER == s)) == set(test)


def test_a_patient_scanned_on_two_scanners_is_refused():
    scanner = SCANNER.copy()
    patient = np.flatnonzero(np.bincount(G - 100) > 1)[0] + 100  # a patient with several rows
    scanner[np.flatnonzero(G == patient)[1]] = "Z"
    with pytest.raises(InputError, match="different scanner values"):
        list(LeaveOneGroupOutByPatient(scanner, "scanner").split(X, Y, G))


def test_column_roles_and_unmapped_values():
    centre = np.where(np.isin(SCANNER, ["A", "B"]), "c1", np.where(SCANNER == "C", "c2", "c3"))
    roles = ColumnRoles(centre, {"c1": "train", "c2": "validation", "c3": "test"}, "centre").roles(X, Y, G)
    assert set(centre[roles["train"]]) == {"c1"} and set(centre[roles["test"]]) == {"c3"}
    assert set(centre[roles["validation"]]) == {"c2"}
    with pytest.raises(InputError, match=r"'centre' values \['c3'\] have no role"):
        ColumnRoles(centre, {"c1": "train", "c2": "test"}, "centre").roles(X, Y, G)


def test_scikit_learn_accepts_the_splitters():
    y = (Y > 0).astype(int)
    scores = cross_val_score(LogisticRegression(), X, y, groups=G, cv=PatientKFold(3, random_state=0),
                             scoring="roc_auc")
    assert len(scores) == 3


def test_make_splitter_from_settings():
    frame = pl.DataFrame({"scanner": SCANNER})
    logo = make_splitter(ds.Logo(scheme="logo", column="scanner"), frame, 0)
    assert logo.get_n_splits() == 4
    fixed = make_splitter(ds.Fixed(scheme="fixed", train=0.5, validation=0.25, test=0.25), frame, 0)
    assert fixed.fractions == (0.5, 0.25, 0.25)
    assert make_splitter(ds.RepeatedKFold(scheme="repeated_kfold"), frame, 0).get_n_splits() == 25
    with pytest.raises(InputError, match="'centre' is not a manifest column"):
        make_splitter(ds.ByColumn(scheme="by_column", column="centre",
                                  roles={"a": "train", "b": "test"}), frame, 0)
    with pytest.raises(ValueError, match="'internal' has no splitter"):
        make_splitter(ds.Internal(), frame, 0)


def test_column_splitters_refuse_a_column_of_another_length():
    with pytest.raises(ValueError, match="scanner has 3 values for"):
        list(LeaveOneGroupOutByPatient(SCANNER[:3], "scanner").split(X, Y, G))


def test_a_missing_column_value_is_refused():
    scanner = SCANNER.astype(object)
    scanner[4] = None
    with pytest.raises(InputError, match="scanner is empty in row\\(s\\) 5"):
        list(LeaveOneGroupOutByPatient(scanner, "scanner").split(X, Y, G))
