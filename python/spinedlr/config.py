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
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from spinedlr.errors import ConfigError
from spinedlr.evaluate.settings import EvaluateSettings
from spinedlr.extract.settings import ExtractSettings
from spinedlr.outputs import check_identifier, inside
from spinedlr.report.settings import ReportSettings
from spinedlr.segment.settings import NumberByPosition, SegmentSettings
from spinedlr.select.settings import SelectSettings


Identifier = Annotated[str, AfterValidator(check_identifier)]
"""A name that becomes part of a file path (ROI, rater): see spinedlr.outputs.SAFE_ID_PATTERN."""


class Strict(BaseModel):
    """Base model rejecting unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class CovariateType(str, Enum):
    continuous = "continuous"
    binary = "binary"
    ordinal = "ordinal"
    nominal = "nominal"


class Covariate(Strict):
    """A clinical covariate column of the manifest."""

    name: str
    type: CovariateType
    levels: list[str | int] | None = Field(
        default=None,
        description="Allowed levels (ordinal: in order; models use the level's rank as a "
        "number). None = any value.",
    )
    label: str | None = Field(default=None, description="Human-readable name for tables.")


class Roi(Strict):
    """A region of interest: an image column, one mask column per rater, and how to use it.

    ``labels`` are the mask labels that belong to the ROI (every other non-zero label is an
    error). ``combine="union"`` treats all of them as one ROI for features (the reference
    study's paraspinal muscle ROI); ``"each"`` extracts per label. ``plane`` is the array axis
    that 2D segmentation slices along (0 = first array axis in SimpleITK's z, y, x order).
    ``number_by_position`` is for labels that are the same structure at different levels.
    """

    name: Identifier
    image: str = Field(description="Manifest column holding the image path.")
    masks: dict[Identifier, str] = Field(description="Rater name -> manifest column of the mask path.")
    dim: Literal["2D", "3D"] = "3D"
    plane: Literal["sagittal", "axial", "coronal"] = "sagittal"
    slice_axis: int = Field(default=0, ge=0, le=2, description="numpy axis slices run along.")
    labels: dict[int, str] = Field(
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
        if not self.masks:
            raise ValueError(f"ROI {self.name!r}: at least one rater mask column is needed")
        if any(k <= 0 for k in self.labels):
            raise ValueError(f"ROI {self.name!r}: labels must be positive integers")
        return self


MUSCLE_LABELS = {
    1: "multifidus_left",
    2: "multifidus_right",
    3: "erector_spinae_left",
    4: "erector_spinae_right",
    5: "psoas_left",
    6: "psoas_right",
}


def _reference_covariates() -> list[Covariate]:
    c = Covariate
    return [
        c(name="age", type="continuous", label="Age (years)"),
        c(name="gender", type="binary", levels=["female", "male"], label="Gender"),
        c(name="bmi", type="continuous", label="BMI (kg/m²)"),
        c(name="smoking", type="binary", levels=["no", "yes"], label="Smoking"),
        c(name="duration", type="continuous", label="Disease duration (years)"),
        c(name="diabetes", type="binary", levels=["no", "yes"], label="Diabetes"),
        c(name="hypertension", type="binary", levels=["no", "yes"], label="Hypertension"),
        c(name="vas_pre", type="ordinal", levels=[3, 4, 5, 6, 7, 8], label="Pre-operative VAS"),
        c(name="vas_post", type="ordinal", levels=[2, 3], label="Post-operative VAS"),
        c(
            name="occupation",
            type="nominal",
            levels=["office_worker", "laborer", "farmer", "self_employed"],
            label="Occupation",
        ),
        c(name="pfirrmann", type="ordinal", levels=["III", "IV", "V"], label="Pfirrmann grade"),
        c(name="modic", type="nominal", levels=["normal", "I", "II", "III"], label="Modic change"),
        c(
            name="herniation_type",
            type="nominal",
            levels=["bulge", "herniation", "prolapse"],
            label="Herniation type",
        ),
        c(
            name="segment",
            type="nominal",
            levels=["L3/4", "L4/5", "L5/S1"],
            label="Herniation segment",
        ),
    ]


def _reference_rois() -> list[Roi]:
    return [
        Roi(
            name="disc",
            image="disc_image",
            masks={"rater1": "disc_mask_rater1", "rater2": "disc_mask_rater2"},
            dim="3D",
            plane="sagittal",
            slice_axis=0,
            labels={1: "disc"},
            combine="union",
        ),
        Roi(
            name="muscle",
            image="muscle_image",
            masks={"rater1": "muscle_mask_rater1", "rater2": "muscle_mask_rater2"},
            dim="3D",
            plane="axial",
            slice_axis=0,
            labels=dict(MUSCLE_LABELS),
            combine="union",
        ),
    ]


class StudyConfig(Strict):
    """The whole study. Defaults reproduce Zhang et al. 2026 (see shared/reference/study.md)."""

    name: str = "PRLDH after endoscopic discectomy"
    manifest: str = "manifest.csv"
    output: str = Field(default="out", description="Output folder, relative to study.yaml.")
    patient_id: str = "patient_id"
    outcome: str = "recurrence"
    outcome_label: str = "Recurrence"
    comparator: str | None = Field(
        default="pfirrmann", description="Covariate shown as a clinical comparator (Table 2)."
    )
    covariates: list[Covariate] = Field(default_factory=_reference_covariates)
    rois: list[Roi] = Field(default_factory=_reference_rois)
    seed: int = 20260101
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    select: SelectSettings = Field(default_factory=SelectSettings)
    evaluate: EvaluateSettings = Field(default_factory=EvaluateSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

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
        return self

    def roi(self, name: str) -> Roi:
        for r in self.rois:
            if r.name == name:
                return r
        raise KeyError(f"no ROI named {name!r}; ROIs are {[r.name for r in self.rois]}")

    def config_hash(self) -> str:
        """Content hash of the settings (not of the data): printed in every output."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class Study:
    """A loaded study: its config plus the folder it lives in (paths resolve against it)."""

    def __init__(self, config: StudyConfig, path: Path):
        self.config = config
        self.path = path.resolve()
        self.root = self.path.parent

    @property
    def output(self) -> Path:
        return (self.root / self.config.output).resolve()

    @property
    def manifest_path(self) -> Path:
        return (self.root / self.config.manifest).resolve()

    def out_path(self, *parts: str | Path) -> Path:
        """A path inside the output folder; refused (InputError) if the parts would leave it."""
        return inside(self.output, *parts)

    def resolve(self, rel: str | Path) -> Path:
        """Resolve a path from the manifest or config against the study folder."""
        p = Path(rel)
        return p if p.is_absolute() else (self.root / p)


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
    return Study(parse_config(data, path), path)


def override(study: Study, section: str, option: str, **values: object) -> Study:
    """Apply command-line values to one section, validated exactly as study.yaml is.

    Why: an option that bypassed the config's bounds (``-j 0``) would silently run with a
    value the file itself refuses. ``None`` values are left as configured.
    """
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return study
    data = study.config.model_dump(mode="json")
    data[section] = {**data[section], **values}
    try:
        study.config = StudyConfig.model_validate(data)
    except ValidationError as err:
        msgs = "; ".join(e["msg"] for e in err.errors())
        raise ConfigError(f"{option}: {msgs}") from None
    return study


def dump_config(config: StudyConfig, path: Path) -> None:
    """Write a config as YAML, omitting nothing, so the file documents every setting."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
