"""Study configuration (`study.yaml`): a pydantic model whose defaults are the reference study.

Why pydantic with ``extra="forbid"``: a misspelt key in a YAML file is the most common way a
study silently runs with default settings; rejecting it, naming the key and the file, is the
cheapest protection a reviewer-proof pipeline can have.

Each pipeline stage owns its own settings model (``spinedlr.<stage>.settings``); this module
only assembles them, so stages can grow their options without touching each other.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from spinedlr.design.settings import DesignSettings, check_design
from spinedlr.errors import ConfigError
from spinedlr.evaluate.settings import EvaluateSettings
from spinedlr.extract.extractor_settings import check_extractors
from spinedlr.extract.settings import ExtractSettings
from spinedlr.fusion.settings import FusionSettings
from spinedlr.grading.settings import GradingSettings
from spinedlr.outputs import check_identifier, inside, write_text_atomic
from spinedlr.paths import StudyPaths
from spinedlr.presets import reference
from spinedlr.presets.reference import MUSCLE_LABELS  # noqa: F401  (demo generators import it here)
from spinedlr.report.settings import ReportSettings
from spinedlr.segment.settings import NumberByPosition, SegmentSettings
from spinedlr.select.settings import SelectSettings
from spinedlr.settings import RuntimeSettings, Settings, move_legacy_runtime_keys


Identifier = Annotated[str, AfterValidator(check_identifier)]
"""A name that becomes part of a file path (ROI, rater): see spinedlr.outputs.SAFE_ID_PATTERN."""


class CovariateType(str, Enum):
    continuous = "continuous"
    binary = "binary"
    ordinal = "ordinal"
    nominal = "nominal"


class Covariate(Settings):
    """A clinical covariate column of the manifest."""

    name: str
    type: CovariateType
    levels: list[str | int] | None = Field(
        default=None,
        description="Allowed levels (ordinal: in order; models use the level's rank as a "
        "number). None = any value.",
    )
    label: str | None = Field(default=None, description="Human-readable name for tables.")


class RoiImage(Settings):
    """A further image of a ROI (another sequence or Dixon fat/water in the mask's geometry)."""

    column: str = Field(description="Manifest column holding the image path.")
    required: bool = Field(
        default=True, description="false: a unit whose cell is empty has no such image; it is "
        "skipped and recorded (a required image missing is a problem).")


class Roi(Settings):
    """A region of interest: its images, one mask column per rater, and how to use it.

    ``image`` is the main image (the one masks are drawn on and segmentation runs on), named
    ``image_name`` in feature tables; ``images`` are further images of the same unit sharing
    the masks' geometry, each ``required`` or not. ``whole_image: true`` makes the whole image
    the region (a crop with no mask): then there are no masks and no labels, and each image is
    its own region. ``labels`` are the mask labels that belong to the ROI (every other
    non-zero label is an error). ``combine="union"`` treats all of them as one ROI for
    features (the reference study's paraspinal muscle ROI); ``"each"`` extracts per label.
    ``plane`` is the array axis that 2D segmentation slices along (0 = first array axis in
    SimpleITK's z, y, x order). ``number_by_position`` is for labels that are the same
    structure at different levels.
    """

    name: Identifier
    image: str = Field(description="Manifest column holding the main image path.")
    image_name: Identifier = Field(
        default="image", description="Name of the main image in feature tables (e.g. t2).")
    required: bool = Field(
        default=True, description="false: a unit whose main-image cell is empty has no such "
        "ROI; it is skipped and recorded.")
    images: dict[Identifier, RoiImage] = Field(
        default_factory=dict, description="Further images by name (e.g. t1, fat).")
    whole_image: bool = Field(
        default=False, description="The whole image is the region (no masks, no labels).")
    masks: dict[Identifier, str] = Field(
        default_factory=dict, description="Rater name -> manifest column of the mask path.")
    dim: Literal["2D", "3D"] = "3D"
    plane: Literal["sagittal", "axial", "coronal"] = "sagittal"
    slice_axis: int = Field(default=0, ge=0, le=2, description="numpy axis slices run along.")
    labels: dict[int, str] = Field(
        default_factory=dict,
        description="Mask label value -> name (display text only: never part of a path).")
    combine: Literal["union", "each"] = "union"
    min_slices: int = Field(default=1, ge=1)
    number_by_position: NumberByPosition | None = Field(
        default=None,
        description="Segmentation learns one class and numbers instances by position "
        "(vertebral levels); see spinedlr.segment.settings.NumberByPosition.",
    )

    @model_validator(mode="after")
    def _check(self) -> "Roi":
        if self.whole_image:
            given = [k for k in ("masks", "labels", "number_by_position") if getattr(self, k)]
            if given:
                raise ValueError(f"ROI {self.name!r}: whole_image: true takes the whole image "
                                 f"as the region, so it has no {' or '.join(given)}")
        elif not self.masks:
            raise ValueError(f"ROI {self.name!r}: at least one rater mask column is needed "
                             "(or whole_image: true for a crop with no mask)")
        elif not self.labels:
            raise ValueError(f"ROI {self.name!r}: labels are needed (mask value -> name)")
        if any(k <= 0 for k in self.labels):
            raise ValueError(f"ROI {self.name!r}: labels must be positive integers")
        if self.image_name in self.images:
            raise ValueError(f"ROI {self.name!r}: image name {self.image_name!r} is both the "
                             "main image_name and a key of images")
        columns = [self.image, *(i.column for i in self.images.values())]
        if len(set(columns)) < len(columns):
            raise ValueError(f"ROI {self.name!r}: the same manifest column is used for two images")
        return self

    def image_columns(self) -> list[tuple[str, str, bool]]:
        """(name, manifest column, required) of every image, the main image first."""
        return [(self.image_name, self.image, self.required),
                *((n, i.column, i.required) for n, i in self.images.items())]

    @property
    def reliability_applicable(self) -> bool:
        """Whether inter-rater reliability (ICC) can be computed: it needs two raters' masks,
        which a whole-image ROI or a single-rater ROI does not have."""
        return not self.whole_image and len(self.masks) >= 2


def _reference_covariates() -> list[Covariate]:
    return [Covariate(**c) for c in reference.covariates()]


def _reference_rois() -> list[Roi]:
    return [Roi(**r) for r in reference.rois()]


class StudyConfig(Settings):
    """The whole study. Defaults reproduce Zhang et al. 2026 (see shared/reference/study.md)."""

    name: str = reference.NAME
    manifest: str = "manifest.csv"
    output: str = Field(default="out", description="Output folder, relative to study.yaml.")
    patient_id: str = "patient_id"
    outcome: str = reference.OUTCOME
    outcome_label: str = reference.OUTCOME_LABEL
    comparator: str | None = Field(
        default=reference.COMPARATOR, description="Covariate shown as a clinical comparator (Table 2)."
    )
    covariates: list[Covariate] = Field(default_factory=_reference_covariates)
    rois: list[Roi] = Field(default_factory=_reference_rois)
    seed: int = 20260101
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    select: SelectSettings = Field(default_factory=SelectSettings)
    evaluate: EvaluateSettings = Field(default_factory=EvaluateSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    design: DesignSettings = Field(default_factory=DesignSettings)
    grading: GradingSettings = Field(
        default_factory=GradingSettings,
        description="The grading stage's views (multi-class per-unit designs only).")
    fusion: FusionSettings = Field(
        default_factory=FusionSettings,
        description="The fusion stage's steps (binary fixed-split designs only).")
    runtime: RuntimeSettings = Field(
        default_factory=RuntimeSettings,
        description="How the study runs on this machine (processes, device, threads): never "
        "part of a stage's cache key.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_runtime(cls, data: object) -> object:
        return move_legacy_runtime_keys(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _unique_names(self) -> "StudyConfig":
        for what, names in (
            ("ROI", [r.name for r in self.rois]),
            ("covariate", [c.name for c in self.covariates]),
        ):
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"duplicate {what} name(s): {', '.join(sorted(dup))}")
        if self.comparator and self.comparator not in {c.name for c in self.covariates}:
            raise ValueError(f"comparator {self.comparator!r} is not a covariate")
        check_design(self.design, self.patient_id)
        return self

    def roi(self, name: str) -> Roi:
        for r in self.rois:
            if r.name == name:
                return r
        raise KeyError(f"no ROI named {name!r}; ROIs are {[r.name for r in self.rois]}")

    def config_hash(self) -> str:
        """Content hash of the settings (not of the data): printed in every output."""
        blob = json.dumps(self.model_dump(mode="json", exclude={"runtime"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class Study:
    """A loaded study: its config plus the folder it lives in (paths resolve against it).

    Immutable like its config: a changed setting is a new Study (``override``), validated as
    study.yaml is, so no code path can hold a value the file itself would refuse.

    ``has_outcome=False`` is a cohort to be scored by a fitted study (`spinedlr apply`): its
    manifest need not hold the outcome column, and validation does not ask for it.
    """

    __slots__ = ("config", "path", "root", "has_outcome")

    def __init__(self, config: StudyConfig, path: Path, has_outcome: bool = True):
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "has_outcome", has_outcome)
        object.__setattr__(self, "path", Path(path).resolve())
        object.__setattr__(self, "root", self.path.parent)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Study is immutable; use study.override(...) to change {name!r}")

    def override(self, section: str | None, option: str, **values: object) -> "Study":
        """A new Study with command-line values applied to one section (``None``: top-level
        keys such as ``manifest``), validated exactly as study.yaml is (``option`` names the
        flag in the error). ``None`` values are left as configured; with none left, this study
        itself is returned.

        Why: an option that bypassed the config's bounds (``-j 0``) would silently run with a
        value the file itself refuses.
        """
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return self
        data = self.config.model_dump(mode="json")
        if section is None:
            data.update(values)
        else:
            data[section] = {**data[section], **values}
        try:
            config = StudyConfig.model_validate(data)
        except ValidationError as err:
            msgs = "; ".join(e["msg"] for e in err.errors())
            raise ConfigError(f"{option}: {msgs}") from None
        return Study(config, self.path, self.has_outcome)

    @property
    def output(self) -> Path:
        return (self.root / self.config.output).resolve()

    @property
    def paths(self) -> StudyPaths:
        """Every output path of the study (spinedlr.paths)."""
        return StudyPaths(self.output)

    @property
    def manifest_path(self) -> Path:
        return (self.root / self.config.manifest).resolve()

    def out_path(self, *parts: str | Path) -> Path:
        """A path inside the output folder; refused (InputError) if the parts would leave it."""
        return inside(self.output, *parts)

    def resolve(self, rel: str | Path) -> Path:
        """Resolve a path from the config (params file, weights, external manifest) against
        the study folder. Paths from manifest cells go through ``resolve_data``."""
        p = Path(rel)
        return p if p.is_absolute() else (self.root / p)

    @property
    def manifest_dir(self) -> Path:
        """The folder the manifest lies in: what its relative image and mask paths mean."""
        return self.manifest_path.parent

    def resolve_data(self, rel: str | Path) -> Path:
        """Resolve an image or mask path from a manifest cell against the manifest's own folder.

        Why the manifest's folder and not study.yaml's: a manifest travels with its images
        (a shared data set's ``discs.csv`` beside ``images/``), and a study elsewhere reads it
        in place; the same rule as `spinedlr apply`'s cohort manifests. When the manifest
        sits beside study.yaml (every demo) the two folders are one, so nothing changes.
        """
        p = Path(rel)
        return p if p.is_absolute() else (self.manifest_dir / p)


def _format_validation_error(err: ValidationError, path: Path) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key '{loc}'")
        else:
            lines.append(f"{path}: {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_config(data: dict, path: Path) -> StudyConfig:
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, path)) from None


def load_study(path: str | Path) -> Study:
    """Read and validate ``study.yaml``; raise ConfigError naming the file and key on problems."""
    path = Path(path)
    if path.is_dir():
        path = path / "study.yaml"
    if not path.exists():
        raise ConfigError(f"{path}: study file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read ({err})") from None
    if data is None:
        raise ConfigError(f"{path}: the study file is empty; `spinedlr demo FOLDER` writes a "
                          "complete example with every setting spelled out")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys to values")
    study = Study(parse_config(data, path), path)
    problems = check_extractors(study.config.extract.extractors, study.config.rois, study.root)
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    return study


def dump_config(config: StudyConfig, path: Path) -> None:
    """Write a config as YAML, omitting nothing, so the file documents every setting."""
    write_text_atomic(path, yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
