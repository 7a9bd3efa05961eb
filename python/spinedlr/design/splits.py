"""Patient-grouped, seeded splitters in scikit-learn's shape (``split(X, y, groups)``).

Why patient-grouped everywhere: with several rows per patient (one per disc), a row-level
split puts one patient's discs on both sides and every metric is inflated. Each splitter
draws patients, then maps them back to rows; ``groups`` holds the patient code of each row
(spinedlr.design.units.patient_groups; None = one row per patient). Stratification is done
on the patient's outcome (its most frequent class), so it is exact at the patient level.
Every splitter takes a ``random_state`` and gives the same splits for the same one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from spinedlr.design.values import label
from spinedlr.errors import InputError

Split = tuple[np.ndarray, np.ndarray]


def _patients(n_rows: int, groups) -> tuple[np.ndarray, np.ndarray]:
    """(patient codes, patient index of each row); no groups = each row its own patient."""
    g = np.arange(n_rows) if groups is None else np.asarray(groups)
    if len(g) != n_rows:
        raise ValueError(f"groups has {len(g)} entries for {n_rows} rows")
    return np.unique(g, return_inverse=True)


def patient_labels(y, inverse: np.ndarray, n_patients: int) -> np.ndarray | None:
    """Each patient's most frequent outcome class (ties: the lowest code); None without y."""
    if y is None:
        return None
    _, codes = np.unique(np.asarray(y), return_inverse=True)
    counts = np.zeros((n_patients, codes.max() + 1), dtype=np.int64)
    np.add.at(counts, (inverse, codes), 1)
    return counts.argmax(axis=1)


def _rows(inverse: np.ndarray, patients: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isin(inverse, patients))


def _n_rows(X, y, groups) -> int:
    for a in (X, y, groups):
        if a is not None:
            return len(a)
    raise ValueError("split needs X, y or groups")


class PatientKFold:
    """(Repeated) k-fold over patients, stratified by the patient's class where y allows."""

    def __init__(self, n_splits: int = 10, n_repeats: int = 1, stratify: bool = True,
                 random_state: int = 0):
        self.n_splits, self.n_repeats = n_splits, n_repeats
        self.stratify, self.random_state = stratify, random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits * self.n_repeats

    def split(self, X=None, y=None, groups=None) -> Iterator[Split]:
        uniq, inverse = _patients(_n_rows(X, y, groups), groups)
        if len(uniq) < self.n_splits:
            raise InputError(f"{self.n_splits}-fold CV needs at least {self.n_splits} patients; "
                             f"got {len(uniq)}")
        labels = patient_labels(y, inverse, len(uniq)) if self.stratify else None
        stratified = labels is not None and np.bincount(labels).max() >= self.n_splits
        seeds = np.random.default_rng(self.random_state).integers(0, 2**31 - 1, self.n_repeats)
        for seed in seeds:
            kind = StratifiedKFold if stratified else KFold
            folds = kind(self.n_splits, shuffle=True, random_state=int(seed))
            for tr, te in folds.split(np.zeros(len(uniq)), labels if stratified else None):
                yield _rows(inverse, tr), _rows(inverse, te)


class LeaveOnePatientOut:
    """LOOCV at the patient level: each patient's rows are the test set once."""

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return len(_patients(_n_rows(X, y, groups), groups)[0])

    def split(self, X=None, y=None, groups=None) -> Iterator[Split]:
        uniq, inverse = _patients(_n_rows(X, y, groups), groups)
        for p in range(len(uniq)):
            yield np.flatnonzero(inverse != p), np.flatnonzero(inverse == p)


class PatientBootstrap:
    """Patients drawn with replacement (train: their rows, repeated as drawn); the patients
    never drawn are the out-of-bag test set."""

    def __init__(self, n_resamples: int = 1000, random_state: int = 0):
        self.n_resamples, self.random_state = n_resamples, random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_resamples

    def split(self, X=None, y=None, groups=None) -> Iterator[Split]:
        uniq, inverse = _patients(_n_rows(X, y, groups), groups)
        rows_of = [np.flatnonzero(inverse == p) for p in range(len(uniq))]
        rng = np.random.default_rng(self.random_state)
        for _ in range(self.n_resamples):
            drawn = rng.integers(0, len(uniq), len(uniq))
            train = np.concatenate([rows_of[p] for p in drawn])
            yield train, _rows(inverse, np.setdiff1d(np.arange(len(uniq)), drawn))


class _RoleSplit:
    """A single split into roles; ``split`` yields (train, test), ``roles`` all three."""

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return 1

    def roles(self, X=None, y=None, groups=None) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def split(self, X=None, y=None, groups=None) -> Iterator[Split]:
        r = self.roles(X, y, groups)
        yield r["train"], r["test"]


class FixedSplit(_RoleSplit):
    """Random patient-level train/validation/test split with the given fractions, stratified
    by the patient's class (each class is cut in the same proportions)."""

    def __init__(self, train: float = 0.6, validation: float = 0.2, test: float = 0.2,
                 stratify: bool = True, random_state: int = 0):
        if abs(train + validation + test - 1) > 1e-9:
            raise ValueError("train + validation + test must sum to 1")
        self.fractions = (train, validation, test)
        self.stratify, self.random_state = stratify, random_state

    def roles(self, X=None, y=None, groups=None) -> dict[str, np.ndarray]:
        uniq, inverse = _patients(_n_rows(X, y, groups), groups)
        labels = patient_labels(y, inverse, len(uniq)) if self.stratify else None
        strata = np.zeros(len(uniq), dtype=int) if labels is None else labels
        rng = np.random.default_rng(self.random_state)
        out: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
        for s in np.unique(strata):
            members = rng.permutation(np.flatnonzero(strata == s))
            cuts = np.round(np.cumsum(self.fractions[:2]) * len(members)).astype(int)
            for role, part in zip(out, np.split(members, cuts)):
                out[role].append(part)
        return {role: _rows(inverse, np.concatenate(parts)) for role, parts in out.items()}


def _patient_values(values, inverse: np.ndarray, what: str) -> np.ndarray:
    """The column's value per patient; InputError when one patient's rows disagree or a value
    is missing (a missing centre is not a centre of its own)."""
    empty = [i + 1 for i, v in enumerate(values) if v is None or v != v]
    if empty:
        raise InputError(f"{what} is empty in row(s) {', '.join(map(str, empty[:5]))}: every "
                         "row needs a value to be split by it")
    values = np.asarray([label(v) for v in values], dtype=object)
    first = np.empty(inverse.max() + 1, dtype=object)
    first[inverse] = values  # any row's value; a disagreement is caught below
    mixed = np.flatnonzero(first[inverse] != values)
    if mixed.size:
        raise InputError(f"row {mixed[0] + 1}: a patient has rows with different {what} values "
                         f"({first[inverse[mixed[0]]]!r}, {values[mixed[0]]!r}); a patient "
                         "must stay on one side of every split")
    return first


def _by_column(values, X, y, groups, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(patient index of each row, the column's value per patient) for a column splitter."""
    n = len(values) if X is None and y is None and groups is None else _n_rows(X, y, groups)
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values for {n} rows")
    _, inverse = _patients(n, groups)
    return inverse, _patient_values(values, inverse, what)


class ColumnRoles(_RoleSplit):
    """Roles by a column's value (e.g. centre A -> train, B -> validation, C -> test)."""

    def __init__(self, values, roles: Mapping[str, str], column: str = "column"):
        self.values, self.column = values, column
        self.role_of = {label(k): r for k, r in roles.items()}

    def roles(self, X=None, y=None, groups=None) -> dict[str, np.ndarray]:
        inverse, per_patient = _by_column(self.values, X, y, groups, self.column)
        unknown = sorted(set(per_patient) - set(self.role_of))
        if unknown:
            raise InputError(f"{self.column!r} values {unknown} have no role in "
                             "design.validation.roles")
        role = np.array([self.role_of[v] for v in per_patient])
        return {r: _rows(inverse, np.flatnonzero(role == r))
                for r in ("train", "validation", "test")}


class LeaveOneGroupOutByPatient:
    """Leave one value of a column (e.g. scanner) out at a time; patients never straddle."""

    def __init__(self, values, column: str = "column"):
        self.values, self.column = values, column

    def levels(self) -> list[str]:
        return sorted({label(v) for v in self.values})

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return len(self.levels())

    def split(self, X=None, y=None, groups=None) -> Iterator[Split]:
        inverse, per_patient = _by_column(self.values, X, y, groups, self.column)
        for level in self.levels():
            held = per_patient == level
            yield _rows(inverse, np.flatnonzero(~held)), _rows(inverse, np.flatnonzero(held))
