"""One interface for every feature extractor: ``extract(region) -> named features``.

Why: the studies combine extractors freely (2D or 3D PyRadiomics, the segmentation
network's deep features, a pretrained backbone) on ROIs that have several images, optional
ones, and regions that are a mask or the whole image. With one ``FeatureExtractor`` protocol
the driver (spinedlr.extract.configured) loops over units, ROIs, images and raters once, and
a new extractor is one class registered in ``EXTRACTOR_KINDS``.

Features are keyed ``(image_type, feature_class, feature)``: the columns of the long feature
table (spinedlr.extract.tables.LONG_SCHEMA), so they never have to be split out of a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import SimpleITK as sitk
import torch
from pydantic import BaseModel

from spinedlr.extract.backbone_input import prepare_batch, region_crop
from spinedlr.extract.backbones import Backbone, build_backbone
from spinedlr.extract.deep import (
    FEATURE_CLASS, IMAGE_TYPE, feature_names, gap_features, roi_crops, roi_slices)
from spinedlr.extract.extractor_settings import BackboneEntry, PyradiomicsEntry
from spinedlr.extract.params import effective_params, params_hash
from spinedlr.extract.radiomics_task import _extractor, split_result
from spinedlr.extract.settings import DeepSettings, ExtractSettings

Features = dict[tuple[str, str, str], float]
WHOLE_IMAGE_RATER = "whole_image"
"""The rater column of a whole-image region (there is no rater's mask)."""


@dataclass(frozen=True)
class Region:
    """One unit's image and region for one ROI: ``mask`` is binary (1 = ROI) or None when the
    whole image is the region. A 2D image (a crop from a PNG) is allowed."""

    unit_id: str
    roi: str
    image_name: str
    rater: str
    image: sitk.Image
    mask: sitk.Image | None
    slice_axis: int = 0


class FeatureExtractor(Protocol):
    """What the driver needs of an extractor: a name, its settings, and ``extract``."""

    name: str
    settings: BaseModel

    def extract(self, region: Region) -> Features: ...


def as_volume(region: Region) -> tuple[sitk.Image, sitk.Image, int]:
    """(image, binary mask, slice axis) as 3D images: a 2D image becomes one slice (axis 0)
    and a whole-image region a mask of ones, because PyRadiomics and the crops expect both.

    The image is cast to float32: PyRadiomics computes its bin edges in the image's own type,
    and in uint8 (PNG crops) ``maximum + 2 * binWidth`` overflows and the bins are wrong.
    """
    image, mask, axis = sitk.Cast(region.image, sitk.sitkFloat32), region.mask, region.slice_axis
    if image.GetDimension() == 2:
        image = sitk.JoinSeries([image])
        mask = None if mask is None else sitk.JoinSeries([mask])
        axis = 0
    if mask is None:
        mask = sitk.GetImageFromArray(np.ones(sitk.GetArrayViewFromImage(image).shape, np.uint8))
        mask.CopyInformation(image)
    return image, mask, axis


def largest_slice(mask: sitk.Image, axis: int) -> sitk.Image:
    """The mask restricted to its slice with the largest area along ``axis`` (first of ties)."""
    arr = sitk.GetArrayFromImage(mask)
    idx, areas = roi_slices(arr, axis)
    if len(idx) <= 1:
        return mask
    keep = np.zeros_like(arr)
    where = [slice(None)] * 3
    where[axis] = int(idx[int(np.argmax(areas))])
    keep[tuple(where)] = arr[tuple(where)]
    out = sitk.GetImageFromArray(keep)
    out.CopyInformation(mask)
    return out


class RadiomicsExtractor:
    """PyRadiomics with the study's parameters, in 2D (force2D, shape2D) or 3D.

    Shape features are dropped for whole-image regions: they would describe the crop's
    rectangle (its pixel count and side lengths), not the anatomy. In 2D, a region spanning
    several slices is reduced to its largest-area slice along the ROI's slice axis (the slice
    the deep features use too): PyRadiomics' shape2D is defined for one slice only.
    """

    name = "pyradiomics"

    def __init__(self, settings: PyradiomicsEntry, extract: ExtractSettings, root: Path,
                 roi_dim: str) -> None:
        self.settings, self.dim = settings, settings.dim or roi_dim
        self._extract, self._root = extract, root

    def extract(self, region: Region) -> Features:
        image, mask, axis = as_volume(region)
        if self.dim == "2D":
            mask = largest_slice(mask, axis)
        params = effective_params(self._extract, self._root, self.dim, axis)
        result = _extractor(params, params_hash(params)).execute(image, mask, label=1)
        cols, _ = split_result(result)
        rows = zip(cols["image_type"], cols["feature_class"], cols["feature"], cols["value"])
        whole = region.mask is None
        return {(t, c, f): v for t, c, f, v in rows if not (whole and c.startswith("shape"))}


class SegmentationDeepExtractor:
    """The trained segmentation network's down4 features (spinedlr.extract.deep), per region."""

    name = "segmentation_deep"

    def __init__(self, settings: DeepSettings, model: torch.nn.Module, size: int,
                 in_channels: int = 1, precision: str = "auto") -> None:
        self.settings, self._model, self._size = settings, model, size
        self._in_channels, self._precision = in_channels, precision

    def extract(self, region: Region) -> Features:
        image, mask, axis = as_volume(region)
        arr = sitk.GetArrayFromImage(image).astype(np.float32)
        crops = roi_crops(arr, sitk.GetArrayFromImage(mask), axis, self.settings.margin,
                          self._size, self.settings.aggregate)
        feats = gap_features(self._model, crops.images, self.settings.batch_size,
                             self._in_channels, self._precision)
        value = feats[0] if self.settings.aggregate == "largest" else feats.mean(axis=0)
        names = feature_names(len(value))
        return {(IMAGE_TYPE, FEATURE_CLASS, n): float(v) for n, v in zip(names, value)}


class BackboneExtractor:
    """A pretrained backbone's penultimate pooled features on the region's crop.

    ``extract_many`` runs crops in batches of ``batch_size``: on two busy cores a ResNet50 at
    224 px took 3.0 s per image one at a time and 0.47 s per image in batches of 16 (fp32).
    ``weights`` says where the weights came from, or ``none (random init)``, for the report.
    """

    name = "backbone"

    def __init__(self, settings: BackboneEntry, backbone: Backbone, precision: str = "fp32"):
        self.settings, self.backbone, self.precision = settings, backbone, precision

    @property
    def weights(self) -> str:
        return self.backbone.weights

    def extract(self, region: Region) -> Features:
        return self.extract_many([region])[0]

    def extract_many(self, regions: list[Region]) -> list[Features]:
        s = self.settings
        crops = []
        for region in regions:
            image = sitk.GetArrayFromImage(region.image).astype(np.float32)
            mask = None if region.mask is None else sitk.GetArrayFromImage(region.mask)
            crops.append(region_crop(image, mask, self.backbone.spec.spatial_dims,
                                     region.slice_axis, s.margin))
        out = []
        for start in range(0, len(crops), s.batch_size):
            batch = prepare_batch(crops[start:start + s.batch_size], s.input_size, s.channels,
                                  s.normalize)
            values = self.backbone.features(batch, self.precision).double().numpy()
            out += [{(s.backbone, "penultimate", f"f{j:04d}"): float(v) for j, v in enumerate(row)}
                    for row in values]
        return out


def backbone_extractor(entry: BackboneEntry, root: Path, seed: int,
                       precision: str = "fp32") -> BackboneExtractor:
    """The backbone of an entry, its weights resolved against the study folder."""
    weights = None
    if entry.weights is not None:
        weights = Path(entry.weights)
        weights = weights if weights.is_absolute() else root / weights
    net = build_backbone(entry.backbone, entry.channels, entry.input_size, weights, seed)
    return BackboneExtractor(entry, net, precision)


EXTRACTOR_KINDS: dict[str, Callable[..., FeatureExtractor]] = {
    "pyradiomics": RadiomicsExtractor,
    "segmentation_deep": SegmentationDeepExtractor,
    "backbone": backbone_extractor,
}
"""Extractor kind (the ``kind`` of an ``extract.extractors`` entry) -> what builds it."""
