"""The ``extract.extractors`` section: which feature extractors run on which ROIs and images.

Why a list of typed entries: a study such as the Pfirrmann grading one wants 2D PyRadiomics
and a frozen ResNet50 on the same crop, another wants 3D PyRadiomics on CT and a ViT on MRI.
Each entry names its ``kind`` (``pyradiomics``, ``segmentation_deep``, ``backbone``), the ROIs
and images it reads (empty = all), and its own options, validated here so that a typo or an
unknown backbone is one error at load time, not a failure an hour into a run. An empty list
(the default) keeps today's extraction: PyRadiomics and the segmentation network's deep
features on every ROI.

A backbone's ``weights`` is a path to a local state dict, relative to study.yaml; it is only
ever opened as a file and read with ``torch.load(weights_only=True)`` (tensors, no code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field, field_validator, model_validator

from spinedlr.outputs import check_identifier
from spinedlr.settings import Settings

Name = Annotated[str, AfterValidator(check_identifier)]
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


class _Entry(Settings):
    """What every extractor entry has: the ROIs and images it reads (empty = all)."""

    rois: list[Name] = Field(default_factory=list, description="ROI names; empty = every ROI.")
    images: list[Name] = Field(
        default_factory=list, description="Image names of those ROIs (image_name or a key of "
        "images); empty = every image.")


class PyradiomicsEntry(_Entry):
    """Handcrafted features with PyRadiomics (the ``extract`` section's parameters)."""

    kind: Literal["pyradiomics"]
    dim: Literal["2D", "3D"] | None = Field(
        default=None, description="2D: force2D along the ROI's slice axis and shape2D; None = "
        "the ROI's own dim. Shape features of whole-image ROIs are dropped (they describe the "
        "crop's rectangle, not anatomy).")


class SegmentationDeepEntry(_Entry):
    """The trained segmentation network's down4 features (``extract.deep`` settings)."""

    kind: Literal["segmentation_deep"]


class BackboneEntry(_Entry):
    """A pretrained backbone's penultimate pooled features (see spinedlr.extract.backbones)."""

    kind: Literal["backbone"]
    backbone: str = Field(description="A registered backbone name (e.g. resnet50_2d).")
    weights: str | None = Field(
        default=None, description="Local state-dict file (relative to study.yaml); None = "
        "random initialisation from the study seed, recorded as such.")
    input_size: int = Field(default=224, ge=16, le=1024,
                            description="Side the crop is resized to (ImageNet: 224).")
    channels: Literal[1, 3] = Field(
        default=3, description="3 = the grey image replicated to three channels (ImageNet "
        "networks); 1 = a single-channel network.")
    normalize: Literal["imagenet", "minmax", "zscore"] = Field(
        default="imagenet", description="imagenet: [0, 1] then ImageNet channel mean/std; "
        "minmax: [0, 1]; zscore: mean 0, sd 1 per crop.")
    margin: float = Field(default=0.1, ge=0, description="Margin around the mask's bounding "
                          "box, as a fraction of its side (whole-image ROIs: unused).")
    batch_size: int = Field(default=16, ge=1)

    @field_validator("backbone")
    @classmethod
    def _registered(cls, name: str) -> str:
        from spinedlr.extract.backbones import BACKBONES

        if name not in BACKBONES:
            raise ValueError(f"unknown backbone {name!r}; registered: {', '.join(BACKBONES)}")
        return name

    @field_validator("weights")
    @classmethod
    def _a_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip() or any(ord(ch) < 32 for ch in value):
            raise ValueError("weights must be a file path (no control characters)")
        if not value.lower().endswith(WEIGHT_SUFFIXES):
            raise ValueError(f"weights {value!r}: expected a state-dict file "
                             f"({', '.join(WEIGHT_SUFFIXES)})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "BackboneEntry":
        if self.normalize == "imagenet" and self.channels != 3:
            raise ValueError("normalize: imagenet needs channels: 3 (ImageNet statistics are "
                             "per RGB channel)")
        if self.backbone.startswith("vit") and self.input_size % 16:
            raise ValueError(f"input_size {self.input_size}: a ViT needs a multiple of 16")
        return self


ExtractorEntry = Annotated[Union[PyradiomicsEntry, SegmentationDeepEntry, BackboneEntry],
                           Field(discriminator="kind")]


def check_extractors(entries: list, rois: list, root: Path) -> list[str]:
    """Problems the entries have against the study: unknown ROI or image names, missing
    weights files. Why separate from the models: it needs the ROIs and the study folder."""
    by_name = {r.name: r for r in rois}
    problems = []
    for i, entry in enumerate(entries):
        where = f"extract.extractors.{i} ({entry.kind})"
        unknown = [r for r in entry.rois if r not in by_name]
        if unknown:
            problems.append(f"{where}: unknown ROI(s) {', '.join(unknown)}; ROIs are "
                            f"{', '.join(by_name)}")
        chosen = [by_name[r] for r in entry.rois if r in by_name] or list(by_name.values())
        names = {n for r in chosen for n, _, _ in r.image_columns()}
        missing = [n for n in entry.images if n not in names]
        if missing:
            problems.append(f"{where}: unknown image(s) {', '.join(missing)}; those ROIs have "
                            f"{', '.join(sorted(names))}")
        if entry.kind == "segmentation_deep" and any(r.whole_image for r in chosen):
            problems.append(f"{where}: whole-image ROIs have no segmentation network; "
                            "name the masked ROIs in rois")
        if entry.kind == "backbone" and entry.weights is not None:
            path = Path(entry.weights)
            path = path if path.is_absolute() else root / path
            if not path.is_file():
                problems.append(f"{where}: weights file not found: {path}")
    return problems
