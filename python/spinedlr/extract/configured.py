"""Run the ``extract.extractors`` entries of a study: units x ROIs x images x raters.

Why a separate driver (and not yet a stage): the reference pipeline's extract stage keeps its
cached, parallel PyRadiomics tasks; the studies that need several images, whole-image ROIs
or pretrained backbones call this driver, which writes the same long table layout
(spinedlr.extract.tables.LONG_SCHEMA), so selection and reporting read both alike.

Naming: when a ROI has further images, ``image_type`` is prefixed with the image's name
(``t1.original``, ``t2.resnet50_2d``), the slot where PyRadiomics already names its filtered
images; a ROI with a single image keeps today's names. Whole-image regions have the rater
``whole_image``. Optional images absent for a unit are simply not there (the manifest
validation records them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import polars as pl
import SimpleITK as sitk

from spinedlr.config import Roi, Study
from spinedlr.extract.extractors import (
    EXTRACTOR_KINDS, WHOLE_IMAGE_RATER, FeatureExtractor, Features, Region)
from spinedlr.extract.tables import FAILURE_SCHEMA, LONG_SCHEMA
from spinedlr.seeds import stage_seed
from spinedlr.extract.tasks import roi_units
from spinedlr.imaging import read_image


UNITS_IN_MEMORY = 32
"""Units whose images are read at once: enough to fill a network's batches, few enough that
3D volumes of a large cohort never sit in memory together."""


@dataclass
class ConfiguredFeatures:
    """The long feature table, one failure record per region that failed, and provenance
    lines (e.g. which backbone ran with which weights, or ``none (random init)``)."""

    table: pl.DataFrame
    failures: pl.DataFrame
    provenance: list[dict] = field(default_factory=list)


def _empty(cell: object) -> bool:
    return cell is None or str(cell) == ""


def regions(study: Study, row: dict, roi: Roi) -> Iterator[Region]:
    """Every region of one manifest row for one ROI: per image, per rater and label unit."""
    pid = str(row[study.config.patient_id])
    if _empty(row[roi.image]):
        return  # an optional ROI absent for this unit (validation refuses a required one)
    for name, col, _ in roi.image_columns():
        if _empty(row[col]):
            continue
        image = read_image(study.resolve_data(row[col]), pid)
        if roi.whole_image:
            yield Region(pid, roi.name, name, WHOLE_IMAGE_RATER, image, None, roi.slice_axis)
            continue
        for rater, mcol in roi.masks.items():
            labels = read_image(study.resolve_data(row[mcol]), pid)
            for unit, unit_labels in roi_units(roi):
                binary = np.isin(sitk.GetArrayViewFromImage(labels), unit_labels).astype(np.uint8)
                mask = sitk.GetImageFromArray(binary)
                mask.CopyInformation(labels)
                yield Region(pid, unit, name, rater, image, mask, roi.slice_axis)


def long_table(region: Region, roi: Roi, features: Features) -> pl.DataFrame:
    """One region's features in the long layout, image-qualified when the ROI has several."""
    prefix = f"{region.image_name}." if roi.images else ""
    keys = list(features)
    return pl.DataFrame({
        "patient_id": [region.unit_id] * len(keys), "roi": [region.roi] * len(keys),
        "rater": [region.rater] * len(keys), "image_type": [prefix + k[0] for k in keys],
        "feature_class": [k[1] for k in keys], "feature": [k[2] for k in keys],
        "value": [features[k] for k in keys]}, schema=LONG_SCHEMA)


def _build(study: Study, entry, roi: Roi) -> FeatureExtractor:
    """The extractor of one entry for one ROI (the segmentation network is per ROI)."""
    cfg = study.config
    if entry.kind == "pyradiomics":
        return EXTRACTOR_KINDS["pyradiomics"](entry, cfg.extract, study.root, roi.dim)
    if entry.kind == "backbone":  # the study seed; one network serves every ROI
        seed = stage_seed(study, "backbone")
        return EXTRACTOR_KINDS["backbone"](entry, study.root, seed, cfg.segment.precision)
    from spinedlr.extract.deep_stage import default_loader, model_path

    model, meta = default_loader(model_path(study, roi.name))
    mc = dict(meta.get("model_config", {}))
    size = cfg.extract.deep.img_size or int(mc.get("img_size", 224))
    return EXTRACTOR_KINDS["segmentation_deep"](cfg.extract.deep, model, size,
                                                int(mc.get("in_channels", 1)),
                                                cfg.segment.precision)


def _failure(unit: str, roi: Roi, image: object, err: Exception) -> dict:
    return {"patient_id": unit, "roi": roi.name, "rater": "", "image": str(image), "mask": "",
            "error_type": type(err).__name__, "error": str(err)}


def _run_units(extractor: FeatureExtractor, roi: Roi,
               units: list[tuple[str, object, list[Region]]]) -> tuple[list, list]:
    """Tables and failures of one extractor on units' regions. An extractor with
    ``extract_many`` (a network) gets all regions at once, for batching; if that fails, the
    units run one by one so the failure is pinned on the unit that caused it."""
    many = getattr(extractor, "extract_many", None)
    if many is not None:
        try:
            flat = [r for _, _, regs in units for r in regs]
            return [long_table(r, roi, f) for r, f in zip(flat, many(flat))], []
        except Exception:  # noqa: BLE001 - retried per unit below, which records the reason
            pass
    tables, failures = [], []
    for unit, image, regs in units:
        try:  # a unit's rows are kept only when all of its regions succeed
            tables.extend([long_table(r, roi, extractor.extract(r)) for r in regs])
        except Exception as err:  # one bad unit must not sink the batch
            failures.append(_failure(unit, roi, image, err))
    return tables, failures


def extract_configured(study: Study, manifest: pl.DataFrame) -> ConfiguredFeatures:
    """Every configured extractor on every selected ROI, image and unit of the manifest."""
    cfg = study.config
    parts, failures, provenance = [], [], []
    for entry in cfg.extract.extractors:
        shared: FeatureExtractor | None = None
        for roi in (r for r in cfg.rois if not entry.rois or r.name in entry.rois):
            extractor = shared or _build(study, entry, roi)
            shared = extractor if entry.kind == "backbone" else None
            for start in range(0, manifest.height, UNITS_IN_MEMORY):
                units = []
                for row in manifest.slice(start, UNITS_IN_MEMORY).iter_rows(named=True):
                    unit = str(row[cfg.patient_id])
                    try:
                        units.append((unit, row[roi.image], [
                            r for r in regions(study, row, roi)
                            if not entry.images or r.image_name in entry.images]))
                    except Exception as err:  # an unreadable file: recorded, the rest go on
                        failures.append(_failure(unit, roi, row[roi.image], err))
                tables, failed = _run_units(extractor, roi, units)
                parts += tables
                failures += failed
            provenance.append({"kind": entry.kind, "roi": roi.name,
                               "weights": getattr(extractor, "weights", "")})
    table = pl.concat(parts) if parts else pl.DataFrame(schema=LONG_SCHEMA)
    return ConfiguredFeatures(table, pl.DataFrame(failures, schema=FAILURE_SCHEMA), provenance)
