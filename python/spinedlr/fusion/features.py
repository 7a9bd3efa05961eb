"""The fused feature tables of a fixed-split study: radiomics of every ROI and image, and
the 3D network's pooled features.

Early fusion (Zou et al. 2025): the features of every structure on every image are
concatenated into one row per patient, each column named ``<roi>__<image>__<feature>``
(``vb_ct__ct__original_firstorder_Mean``, ``disc__t1__original_glcm_Idmn``), so the ROI
and modality of every selected feature can be read off its name and counted in the report.

The main image of each ROI is the extract stage's (``features/radiomics.parquet``, its
cached PyRadiomics tasks, the same parameters: ``extract.normalize: true`` is the paper's
image z-scoring). Further images of a ROI (``rois[].images``, e.g. T1 beside T2) are
extracted here with the same extractor and parameters, for the model rater only.

The 3D network (spinedlr.classify3d) is trained per configured ROI on the training cohort,
its images stacked as channels and cropped to the model rater's mask, the epoch chosen on
the validation cohort; its pooled penultimate features of every patient are the deep
features (``<roi>__dl3d_<i>``). Checkpoints go to ``models3d/<roi>.pt`` and a rerun resumes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import SimpleITK as sitk

from spinedlr.config import Roi, Study
from spinedlr.errors import InputError
from spinedlr.extract.tasks import roi_units
from spinedlr.outputs import read_output
from spinedlr.select.tables import feature_name

SEP = "__"


def _qualified(long: pl.DataFrame, image: pl.Expr) -> pl.DataFrame:
    """(patient_id, name, value) with ``roi__image__feature`` names."""
    return long.select(
        pl.col("patient_id").cast(pl.String),
        pl.concat_str([pl.col("roi"), image, feature_name()], separator=SEP).alias("name"),
        pl.col("value").cast(pl.Float64))


def further_images(study: Study, manifest: pl.DataFrame, rater: str) -> pl.DataFrame:
    """Long table (patient_id, roi, image, image_type, feature_class, feature, value) of every
    ROI's further images, model rater only, with the extract stage's parameters."""
    from spinedlr.extract.extractor_settings import PyradiomicsEntry
    from spinedlr.extract.extractors import RadiomicsExtractor
    from spinedlr.extract.configured import regions

    rows: list[dict] = []
    for roi in (r for r in study.config.rois if r.images):
        extractor = RadiomicsExtractor(PyradiomicsEntry(kind="pyradiomics"), study.config.extract,
                                       study.root, roi.dim)
        for row in manifest.iter_rows(named=True):
            for region in regions(study, row, roi):
                if region.rater != rater or region.image_name == roi.image_name:
                    continue
                for (t, c, f), v in extractor.extract(region).items():
                    rows.append({"patient_id": region.unit_id, "roi": region.roi,
                                 "image": region.image_name, "image_type": t,
                                 "feature_class": c, "feature": f, "value": float(v)})
    return pl.DataFrame(rows, schema={"patient_id": pl.String, "roi": pl.String,
                                      "image": pl.String, "image_type": pl.String,
                                      "feature_class": pl.String, "feature": pl.String,
                                      "value": pl.Float64})


def fused_radiomics(study: Study, manifest: pl.DataFrame, rater: str) -> pl.DataFrame:
    """One row per patient (``patient_id`` first), one column per ROI x image x feature."""
    long = read_output(study.paths.radiomics, "spinedlr extract").filter(pl.col("rater") == rater)
    if long.is_empty():
        raise InputError(f"{study.paths.radiomics}: no features of rater {rater!r} "
                         "(fusion.rater)")
    main = {name: roi.image_name for roi in study.config.rois for name, _ in roi_units(roi)}
    parts = [_qualified(long, pl.col("roi").replace_strict(main, return_dtype=pl.String))]
    extra = further_images(study, manifest, rater)
    if extra.height:
        parts.append(_qualified(extra, pl.col("image")))
    named = pl.concat(parts)
    order = named["name"].unique(maintain_order=True).to_list()
    wide = named.pivot(on="name", index="patient_id", values="value").sort("patient_id")
    return wide.select("patient_id", *order)


def feature_counts(names: list[str], selected: list[str] | None = None) -> pl.DataFrame:
    """Features per ROI and image (modality), extracted and selected."""
    parts = [n.split(SEP) for n in names]
    chosen = set(selected or [])
    return (pl.DataFrame({"roi": [p[0] for p in parts], "image": [p[1] for p in parts],
                          "selected": [n in chosen for n in names]})
            .group_by("roi", "image", maintain_order=True)
            .agg(pl.len().alias("extracted"), pl.col("selected").sum().alias("selected")))


def _volume(study: Study, row: dict, roi: Roi, rater: str):
    """One patient's Volume: the ROI's images as channels, the rater's mask of its labels."""
    from spinedlr.classify3d import Volume
    from spinedlr.imaging import read_image

    pid = str(row[study.config.patient_id])
    arrays = [sitk.GetArrayFromImage(read_image(study.resolve_data(row[col]), pid))
              for _, col, _ in roi.image_columns() if row[col] not in (None, "")]
    if len({a.shape for a in arrays}) > 1:
        raise InputError(f"patient {pid}: the images of ROI {roi.name} differ in shape; the 3D "
                         "network stacks them as channels")
    mask = sitk.GetArrayFromImage(read_image(study.resolve_data(row[roi.masks[rater]]), pid))
    return Volume(pid, np.stack(arrays).astype(np.float32), np.isin(mask, list(roi.labels)))


def deep_features(study: Study, manifest: pl.DataFrame, cohorts: pl.DataFrame, rater: str,
                  seed: int, models: Path) -> tuple[pl.DataFrame, list[dict]]:
    """(patient_id + every deep ROI's pooled features, one training record per ROI)."""
    from spinedlr.classify3d import Classifier3D
    from spinedlr.cli_support import console

    fs = study.config.fusion
    wanted = fs.deep_rois or [r.name for r in study.config.rois]
    rois = {r.name: r for r in study.config.rois}
    unknown = [r for r in wanted if r not in rois]
    if unknown:
        raise InputError(f"fusion.deep_rois names unknown ROI(s) {unknown}")
    rows = manifest.iter_rows(named=True)
    by_id = {str(r[study.config.patient_id]): r for r in rows}
    role = dict(zip(cohorts["patient_id"], cohorts["cohort"]))
    y = dict(zip(cohorts["patient_id"], cohorts["outcome"]))
    ids = cohorts["patient_id"].to_list()
    table, records = pl.DataFrame({"patient_id": ids}), []
    for i, name in enumerate(wanted):
        vols = [_volume(study, by_id[p], rois[name], rater) for p in ids]
        pick = {c: [v for v in vols if role[v.patient_id] == c] for c in set(role.values())}
        val = pick.get("validation", [])
        val_y = [y[v.patient_id] for v in val]
        settings = fs.classify3d.model_copy(update={"seed": seed + i})
        net = Classifier3D(settings, models / f"{name}.pt", console).fit(
            pick["training"], [y[v.patient_id] for v in pick["training"]],
            (val, val_y) if len(set(val_y)) == 2 else None)
        feats = net.features(vols)
        table = table.join(feats.rename({c: f"{name}{SEP}{c}" for c in feats.columns[1:]}),
                           on="patient_id", how="left", maintain_order="left")
        records.append({"roi": name, "network": settings.network, "preset": settings.preset,
                        "input_size": settings.resolved().input_size,
                        "epochs": settings.resolved().epochs, "channels": vols[0].image.shape[0],
                        "parameters": int(net.n_parameters_), "best_epoch": int(net.best_epoch_),
                        "best_validation_auc": net.best_auc_, "precision": str(net.precision_),
                        "seconds": float(net.seconds_), "weights": str(net.weights_)})
    return table, records
