"""The patient-level training / validation / test cohorts of a fixed-split design.

Two designs (``design.validation``): ``fixed`` — a random split with the configured
fractions, stratified by the outcome so each cohort keeps the event rate (Zou et al.'s
"stratified sampling", 7:2:1), drawn from the study seed; ``by_column`` — every value of a
column (the centre) is given a role, the variant where the split follows the centres.
Either way one row per patient and a patient is in exactly one cohort.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr.design import settings as ds
from spinedlr.design.splits import ColumnRoles, FixedSplit
from spinedlr.errors import InputError

ROLES = ("train", "validation", "test")
COHORT_NAMES = {"train": "training", "validation": "validation", "test": "test"}
"""Role in the design -> the cohort's name in tables and the report."""


def assign_cohorts(ids: list[str], y: np.ndarray, validation: ds.Fixed | ds.ByColumn,
                   seed: int, column: list | None = None) -> pl.DataFrame:
    """``patient_id``, ``outcome``, ``cohort`` (training / validation / test) per patient.

    ``column``: the values of ``validation.column`` per patient (by_column only).
    InputError when a cohort the models need (training, test) is empty or has one class.
    """
    y = np.asarray(y, dtype=np.int64)
    if isinstance(validation, ds.Fixed):
        splitter = FixedSplit(validation.train, validation.validation, validation.test,
                              stratify=validation.stratify, random_state=seed)
    else:
        if column is None:
            raise ValueError(f"a by_column split needs the values of {validation.column!r}")
        splitter = ColumnRoles(column, validation.roles, validation.column)
    roles = splitter.roles(y=y)
    cohort = np.empty(len(ids), dtype=object)
    for role in ROLES:
        cohort[roles[role]] = COHORT_NAMES[role]
    table = pl.DataFrame({"patient_id": ids, "outcome": y, "cohort": cohort.tolist()})
    for role in ("train", "test"):
        part = table.filter(pl.col("cohort") == COHORT_NAMES[role])
        if part["outcome"].n_unique() < 2:
            raise InputError(f"the {COHORT_NAMES[role]} cohort has {part.height} patient(s) "
                             f"and not both outcome classes; the split of {len(ids)} patients "
                             "is too small or a centre has one class only")
    return table


def cohort_table(cohorts: pl.DataFrame, centre: list | None) -> pl.DataFrame:
    """Patients and events per cohort and centre (centre "all" when none is configured)."""
    data = cohorts.with_columns(pl.Series("centre", centre if centre is not None
                                          else ["all"] * cohorts.height, pl.String))
    order = {name: i for i, name in enumerate(COHORT_NAMES.values())}
    return (data.group_by("cohort", "centre")
            .agg(pl.len().alias("n"), pl.col("outcome").sum().alias("events"))
            .with_columns((pl.col("events") / pl.col("n")).alias("event_rate"),
                          pl.col("cohort").replace_strict(order).alias("_order"))
            .sort("_order", "centre").drop("_order"))
