"""From a configured validation scheme (design.validation) to its splitter.

Why apart from the splitters: they are plain scikit-learn-style classes that know nothing of
study.yaml; this is the one place that reads the settings and the manifest column a scheme
names.
"""

from __future__ import annotations

import polars as pl

from spinedlr.design import settings as ds
from spinedlr.design.splits import (
    ColumnRoles,
    FixedSplit,
    LeaveOneGroupOutByPatient,
    LeaveOnePatientOut,
    PatientBootstrap,
    PatientKFold,
)
from spinedlr.errors import InputError


def make_splitter(validation: ds.Validation, frame: pl.DataFrame, random_state: int):
    """The splitter a configured scheme describes (``frame``: the manifest, for columns)."""
    v = validation
    if isinstance(v, ds.KFold):
        return PatientKFold(v.folds, 1, v.stratify, random_state)
    if isinstance(v, ds.RepeatedKFold):
        return PatientKFold(v.folds, v.repeats, v.stratify, random_state)
    if isinstance(v, ds.Loocv):
        return LeaveOnePatientOut()
    if isinstance(v, ds.Bootstrap):
        return PatientBootstrap(v.resamples, random_state)
    if isinstance(v, ds.Fixed):
        return FixedSplit(v.train, v.validation, v.test, v.stratify, random_state)
    if isinstance(v, ds.ByColumn | ds.Logo) and v.column not in frame.columns:
        raise InputError(f"design.validation.column {v.column!r} is not a manifest column")
    if isinstance(v, ds.ByColumn):
        return ColumnRoles(frame[v.column].to_list(), v.roles, v.column)
    if isinstance(v, ds.Logo):
        return LeaveOneGroupOutByPatient(frame[v.column].to_list(), v.column)
    raise ValueError(f"validation scheme {v.scheme!r} has no splitter: internal resampling is "
                     "the stages' own, and an external cohort is scored by `spinedlr apply`")
