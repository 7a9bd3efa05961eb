"""Extraction settings (the `extract:` section of study.yaml).

Every setting that changes a feature value (parameter file, cropping, bin width, resampling,
normalisation, LoG sigmas) lives here, is folded into the effective PyRadiomics parameters, and
ends up in the settings hash of `features/diagnostics.parquet`: two runs with the same hash used
the same extraction.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from spinedlr.extract.extractor_settings import ExtractorEntry
from spinedlr.outputs import check_identifier
from spinedlr.settings import Settings


class DeepSettings(Settings):
    """Deep features from the trained segmentation network (down4 activation, GAP)."""

    enabled: bool = True
    model: str | None = Field(
        default=None,
        description="Model file per ROI, '{roi}' is replaced by the ROI name; None = "
        "<output>/models/{roi}.pt written by the segment stage.",
    )
    img_size: int | None = Field(
        default=None, description="Crop side after resizing; None = the model's own img_size."
    )
    margin: float = Field(
        default=0.1, ge=0, description="Margin added around the mask bounding box, as a fraction "
        "of the box side on each side (0.1 = 10 %).",
    )
    aggregate: Literal["largest", "mean"] = Field(
        default="largest",
        description="Per-ROI value: the slice with the largest mask area (study) or the mean "
        "over all slices containing the ROI.",
    )
    batch_size: int = Field(default=16, ge=1)
    gradcam_patients: list[Annotated[str, AfterValidator(check_identifier)]] = Field(
        default_factory=list, description="Patients to draw Grad-CAM heatmaps for (their IDs "
        "name files, so they follow the safe-name rule of spinedlr.outputs)."
    )


class DeepSelectionSettings(Settings):
    """The study's deep-feature selection module (library, two clusters, similarity)."""

    enabled: bool = True
    n_clusters: int = Field(default=2, ge=2)
    keep_fraction: float = Field(
        default=0.4, gt=0, le=1,
        description="Fraction of deep features kept, ranked by similarity to the library "
        "(study: 201/512 disc, 263/512 muscle, i.e. 0.39-0.51).",
    )


class ExtractSettings(Settings):
    """Defaults reproduce the reference study's 1,223 features per 3D ROI."""

    params: str | None = Field(
        default=None,
        description="PyRadiomics YAML parameter file (relative to study.yaml); None = the "
        "shipped reference file (spinedlr/extract/params/reference.yaml).",
    )
    crop_to_roi: bool = Field(
        default=False,
        description="Crop the image to the ROI (+padDistance) BEFORE filtering (PyRadiomics "
        "preCrop). 7-12x faster on large images, but LoG, wavelet borders and square/root/"
        "log/exp features change (they rescale by the whole image's maximum). Off = reference.",
    )
    log_sigmas: list[float] = Field(
        default_factory=list,
        description="Add a LoG image per sigma (mm): +93 features per sigma. Empty = reference.",
    )
    bin_width: float | None = Field(default=None, gt=0, description="Override binWidth.")
    resampled_spacing: list[float] | None = Field(
        default=None, description="Override resampledPixelSpacing (mm, x y z)."
    )
    normalize: bool | None = Field(default=None, description="Override normalize.")
    deep: DeepSettings = Field(default_factory=DeepSettings)
    deep_selection: DeepSelectionSettings = Field(default_factory=DeepSelectionSettings)
    extractors: list[ExtractorEntry] = Field(
        default_factory=list, description="Feature extractors per ROI and image (see "
        "spinedlr.extract.extractor_settings); empty = PyRadiomics and the segmentation "
        "network's deep features on every ROI, as the reference study.")
