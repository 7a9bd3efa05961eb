"""The unit of analysis: which columns identify a row, and the patient as every split's group.

Why the patient is always the group: two discs of one patient share the patient's age,
scanner and degeneration pattern; a disc in training and its neighbour in the test set is a
leak that inflates every metric. So units may be discs, but splits, bootstrap resamples and
CV folds are drawn over patients, and the group codes below go to every splitter.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr.design.settings import UnitSettings
from spinedlr.errors import ManifestError


def unit_keys(unit: UnitSettings, patient_id: str) -> list[str]:
    """The columns that identify one row (the patient column first)."""
    keys = unit.keys or [patient_id]
    return [patient_id] + [k for k in keys if k != patient_id]


def check_units(frame: pl.DataFrame, unit: UnitSettings, patient_id: str) -> None:
    """ManifestError unless the key columns exist, are complete and identify each row once."""
    keys = unit_keys(unit, patient_id)
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ManifestError(f"unit key column(s) {missing} are not in the manifest")
    for k in keys:
        n_null = frame[k].null_count()
        if n_null:
            raise ManifestError(f"unit key column {k!r} is empty in {n_null} row(s)")
    dup = frame.group_by(keys).len().filter(pl.col("len") > 1)
    if dup.height:
        first = dup.row(0, named=True)
        shown = ", ".join(f"{k}={first[k]}" for k in keys)
        if unit.rows_per_patient == "one":
            raise ManifestError(f"{dup.height} patient(s) have several rows ({shown}: "
                                f"{first['len']}); one row per patient is configured — set "
                                "design.unit.rows_per_patient: several and its keys")
        raise ManifestError(f"{dup.height} unit(s) appear in several rows ({shown}: "
                            f"{first['len']}); the keys {keys} must identify each row")


def patient_groups(frame: pl.DataFrame, patient_id: str) -> np.ndarray:
    """Integer group code per row, one per patient, in order of first appearance."""
    ids = frame[patient_id].cast(pl.String).to_list()
    codes: dict[str, int] = {}
    return np.array([codes.setdefault(p, len(codes)) for p in ids], dtype=np.int64)
