"""`spinedlr validate` for a grading study: the manifest checks of the per-disc design.

Why not the reference checks: those want one row per patient and a 0/1 outcome, while a
grading manifest has one row per disc *and* sequence (T2, and T1 where present) with the
grade of that disc. Here: patient IDs present and usable as names, a known sequence on every
row, each disc at most once per sequence, every disc's grade among ``design.outcome.classes``
and the same on all its rows, and at least two grades in the study. Images are checked by
the caller, one per row, as for any study.
"""

from __future__ import annotations

import polars as pl

from spinedlr.design.units import unit_keys
from spinedlr.outputs import identifier_problem

SEQUENCES = ("t1", "t2")


def check_grading_rows(study, df: pl.DataFrame, v) -> None:
    """Add one problem to ``v`` (a manifest.Validation) per row or disc that breaks a rule."""
    cfg = study.config
    pid, grade = cfg.patient_id, cfg.design.outcome.column or cfg.outcome
    keys = unit_keys(cfg.design.unit, pid)
    missing = [c for c in (*keys, "sequence", grade) if c not in df.columns]
    for c in missing:
        v.add("-", c, f"missing column '{c}' in {study.manifest_path.name}")
    if missing:
        return
    for row in df.filter(pl.col(pid).is_null() | (pl.col(pid) == "")).iter_rows(named=True):
        v.add("-", pid, "empty patient_id")
    for p in df[pid].drop_nulls().unique(maintain_order=True).to_list():
        problem = identifier_problem(p)
        if problem:
            v.add(str(p), pid, f"patient_id {problem}")
    for row in df.filter(~pl.col("sequence").cast(pl.String).is_in(list(SEQUENCES))).iter_rows(named=True):
        v.add(str(row[pid]), "sequence", f"sequence {row['sequence']!r} is not one of {list(SEQUENCES)}")
    dup = df.group_by(*keys, "sequence").len().filter(pl.col("len") > 1)
    for row in dup.iter_rows(named=True):
        v.add(str(row[pid]), ", ".join(keys[1:]), f"disc {row[keys[-1]]} has {row['len']} "
              f"{row['sequence']} rows")
    classes = [str(c) for c in cfg.design.outcome.classes or []]
    values = df[grade].cast(pl.String)
    for row in df.filter(values.is_null() | ~values.is_in(classes)).iter_rows(named=True):
        v.add(str(row[pid]), grade, f"grade {row[grade]!r} is not among {classes}")
    mixed = df.group_by(keys).agg(pl.col(grade).n_unique().alias("n")).filter(pl.col("n") > 1)
    for row in mixed.iter_rows(named=True):
        v.add(str(row[pid]), grade, f"disc {row[keys[-1]]} has different grades on its rows")
    if values.filter(values.is_in(classes)).n_unique() < 2:
        v.add("-", grade, "fewer than two grades in the study: nothing to predict")
