"""A new cohort's features, extracted exactly as the fitted study's own were.

The cohort is run as a study of its own: the fitted study's config (same ROIs, PyRadiomics
parameters, deep settings, precision) with the new manifest, no covariates, no outcome, only
the modelled rater's masks, the study's trained networks, and its output in
``<study output>/apply/<name>/``. So the extraction code is the study's own, and the study's
tables, caches and records are never touched.

Paths in the user's manifest are data: relative ones are resolved against the manifest's own
folder, and the copy the cohort reads (``<name>/manifest.csv``) holds them absolute.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spinedlr.apply_model import FrozenModel
from spinedlr.config import Study, parse_config
from spinedlr.errors import InputError, ManifestError
from spinedlr.extract import stage as extract_stage
from spinedlr.extract.deep_stage import library_rater, model_path, run_deep
from spinedlr.manifest import read_manifest, require_valid
from spinedlr.outputs import check_identifier, write_atomic
from spinedlr.select.tables import read_long, to_wide

COHORT_MANIFEST = "manifest.csv"


def cohort_name(manifest: Path, name: str | None) -> str:
    """The cohort's folder name: ``name``, else the manifest's file stem (a safe name)."""
    try:
        return check_identifier(name or manifest.stem)
    except ValueError as err:
        raise InputError(f"cohort name {name or manifest.stem!r}: {err}; pass --name") from None


def path_columns(study: Study, rater: str) -> list[str]:
    """The manifest columns the cohort needs: each ROI's images and the rater's masks."""
    cols = []
    for roi in study.config.rois:
        cols += [col for _, col, _ in roi.image_columns()]
        if not roi.whole_image:
            if rater not in roi.masks:
                raise InputError(f"ROI {roi.name}: the model's rater {rater!r} has no mask column")
            cols.append(roi.masks[rater])
    return cols


def read_cohort(study: Study, manifest: Path, model: FrozenModel) -> pl.DataFrame:
    """The new manifest with its path columns made absolute against the manifest's folder
    (the rule of Study.resolve_data); ManifestError naming every column it lacks."""
    cfg = study.config
    df = read_manifest(manifest, cfg.patient_id)
    paths = path_columns(study, model.rater)
    missing = [c for c in [*model.keys, *paths] if c not in df.columns]
    if missing:
        raise ManifestError(f"{manifest}: missing column(s) {', '.join(missing)} (the fitted "
                            "study's unit keys, images and the modelled rater's masks)")
    if df.height == 0:
        raise ManifestError(f"{manifest}: no rows to score")
    base = manifest.resolve().parent

    def absolute(col: str) -> pl.Expr:
        rel = pl.col(col).cast(pl.String)
        return (pl.when(rel.is_null() | (rel == "") | rel.str.starts_with("/")).then(rel)
                .otherwise(pl.lit(f"{base}/") + rel).alias(col))

    return df.with_columns([absolute(c) for c in dict.fromkeys(paths)])


def cohort_study(study: Study, cohort: pl.DataFrame, folder: Path, model: FrozenModel) -> Study:
    """The fitted study's settings on the new cohort, writing only under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / COHORT_MANIFEST, cohort.write_csv)
    data = study.config.model_dump(mode="json")
    data.update(manifest=str(folder / COHORT_MANIFEST), output=str(folder), covariates=[],
                comparator=None, design={"unit": data["design"]["unit"]})
    for roi in data["rois"]:
        roi["masks"] = {r: c for r, c in roi["masks"].items() if r == model.rater}
    # The fit cropped the library rater's slices all at once and the others' as `aggregate`
    # says; the same crops give the same network batches, hence the same features.
    library = {library_rater(study, roi) for roi in study.config.rois if roi.masks}
    data["extract"]["deep_selection"]["enabled"] &= library <= {model.rater}
    deep = data["extract"]["deep"]
    deep["gradcam_patients"] = []
    deep["model"] = str(model_path(study, "{roi}"))
    return Study(parse_config(data, study.path), study.path, has_outcome=False)


def _check_networks(study: Study) -> None:
    missing = [str(model_path(study, r.name)) for r in study.config.rois
               if not model_path(study, r.name).is_file()]
    if missing:
        raise InputError(f"the model uses deep features, but the segmentation network(s) "
                         f"{', '.join(missing)} are missing; run `spinedlr run` on the study")


def extract_cohort(study: Study, cohort: Study, model: FrozenModel,
                   show_progress: bool = True) -> dict[str, pl.DataFrame]:
    """Check every file, extract the cohort's features; one wide table per ROI (patient_id
    and the features the model reads, for the modelled rater)."""
    if model.deep_rois:
        _check_networks(study)
    require_valid(cohort, show_progress=show_progress)
    extract_stage.run(cohort, show_progress=show_progress)
    tables = [cohort.paths.radiomics]
    if model.deep_rois:
        run_deep(cohort, show_progress=show_progress, fit_selection=False)
        tables.append(cohort.paths.deep)
    longs = [(read_long(p), p) for p in tables]
    wides = {}
    for roi in model.formulas:
        wide = None
        for long, path in longs:
            w = to_wide(long, roi, model.rater, path)
            wide = w if wide is None else wide.join(w, on="patient_id", how="inner")
        lacking = [f for f in model.features(roi) if f not in wide.columns]
        if lacking:
            raise InputError(f"ROI {roi}: the cohort's extraction lacks the model's feature(s) "
                             f"{', '.join(lacking[:5])}")
        wides[roi] = wide.select("patient_id", *model.features(roi))
    return wides
