"""Feature tables: the long layout on disk, the wide view for modelling.

Long is the storage format (one row per patient x ROI x rater x feature) because it holds any
number of image types, ROIs and raters without schema changes and appends cheaply; modelling
wants one row per patient and ROI, which ``wide`` derives.
"""

from __future__ import annotations

import polars as pl

from spinedlr.errors import SpinedlrError

ID_COLUMNS = ("patient_id", "roi", "rater")
LONG_SCHEMA = {
    "patient_id": pl.Utf8, "roi": pl.Utf8, "rater": pl.Utf8, "image_type": pl.Utf8,
    "feature_class": pl.Utf8, "feature": pl.Utf8, "value": pl.Float64,
}
FAILURE_SCHEMA = {
    "patient_id": pl.Utf8, "roi": pl.Utf8, "rater": pl.Utf8, "image": pl.Utf8, "mask": pl.Utf8,
    "error_type": pl.Utf8, "error": pl.Utf8,
}


class ExtractionFailed(SpinedlrError):
    """Some extraction tasks failed (the others completed and were written)."""


def empty_long() -> pl.DataFrame:
    return pl.DataFrame(schema=LONG_SCHEMA)


def feature_name(df: pl.DataFrame) -> pl.Expr:
    """PyRadiomics' own column name, e.g. ``wavelet-LLH_glcm_Idmn``."""
    return pl.concat_str(["image_type", "feature_class", "feature"], separator="_")


def wide(long: pl.DataFrame, index: tuple[str, ...] = ID_COLUMNS) -> pl.DataFrame:
    """One row per (patient, ROI, rater), one column per feature, in first-seen feature order."""
    named = long.with_columns(feature_name(long).alias("name"))
    order = named["name"].unique(maintain_order=True).to_list()
    out = named.pivot(on="name", index=list(index), values="value", aggregate_function=None)
    return out.select([*index, *order])
