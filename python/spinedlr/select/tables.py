"""From the extraction stage's LONG feature tables to the wide matrices selection needs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from spinedlr.errors import InputError
from spinedlr.outputs import read_output

log = logging.getLogger(__name__)

LONG_COLUMNS = ("patient_id", "roi", "rater", "image_type", "feature_class", "feature", "value")


def read_long(path: Path) -> pl.DataFrame:
    """Read a long feature table and check it has the contract's columns."""
    if not path.exists():
        raise InputError(f"{path}: feature table not found; run `spinedlr extract` first")
    df = read_output(path, "spinedlr extract")
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return df.with_columns(pl.col("patient_id").cast(pl.String), pl.col("value").cast(pl.Float64))


def feature_name() -> pl.Expr:
    """One name per feature: image_type_feature_class_feature (PyRadiomics' own convention).

    If the extractor already wrote the full name into ``feature`` it is used as is.
    """
    prefix = pl.concat_str([pl.col("image_type"), pl.col("feature_class")], separator="_")
    return (
        pl.when(pl.col("feature").str.starts_with(prefix + "_"))
        .then(pl.col("feature"))
        .otherwise(pl.concat_str([prefix, pl.col("feature")], separator="_"))
    )


def to_wide(long: pl.DataFrame, roi: str, rater: str, path: Path) -> pl.DataFrame:
    """patient_id + one Float64 column per feature for one ROI and rater (sorted by id)."""
    sub = long.filter((pl.col("roi") == roi) & (pl.col("rater") == rater))
    if sub.is_empty():
        return pl.DataFrame({"patient_id": []}, schema={"patient_id": pl.String})
    sub = sub.with_columns(feature_name().alias("name"))
    dup = sub.group_by("patient_id", "name").len().filter(pl.col("len") > 1)
    if dup.height:
        r = dup.row(0, named=True)
        raise InputError(f"{path}: patient {r['patient_id']}, ROI {roi}, rater {rater}: feature "
                         f"{r['name']} appears {r['len']} times")
    names = sub["name"].unique(maintain_order=True).to_list()
    wide = sub.pivot(on="name", index="patient_id", values="value").sort("patient_id")
    return wide.select("patient_id", *names)


def check_finite(wide: pl.DataFrame, path: Path, roi: str, rater: str,
                 policy: str = "error") -> pl.DataFrame:
    """Find missing, NaN or inf values, naming each patient and feature.

    ``policy="error"`` raises InputError; ``"drop_feature"`` drops the affected features
    with a logged warning that names them (the documented adjustment). Returns the table.
    """
    names = [c for c in wide.columns if c != "patient_id"]
    X = wide.select(names).to_numpy().astype(float)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        shown = [f"patient {wide['patient_id'][int(i)]}: {names[j]} = {X[i, j]}"
                 for i, j in bad[:10]]
        more = f"\n... and {len(bad) - 10} more" if len(bad) > 10 else ""
        if policy == "drop_feature":
            drop = sorted({names[j] for _, j in bad})
            log.warning("%s: ROI %s, rater %s: dropped %d feature(s) with non-finite values: "
                        "%s\n%s", path, roi, rater, len(drop), ", ".join(drop[:20]),
                        "\n".join(shown) + more)
            return wide.drop(drop)
        raise InputError(f"{path}: ROI {roi}, rater {rater}: {len(bad)} value(s) missing or not "
                         "finite (fix the extraction or exclude the patient):\n"
                         + "\n".join(shown) + more)
    return wide
