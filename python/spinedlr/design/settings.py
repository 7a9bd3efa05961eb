"""The `design:` section of study.yaml: outcome kind, unit, validation scheme, models, calibration.

Why one block with defaults that are today's study: a study.yaml without `design:` must run
exactly as before (binary 0/1 outcome from the top-level `outcome` column, one row per
patient, the select/evaluate stages' own resampling, the Radscore), while the other studies
say what differs in a few lines. Every wrong combination is one error naming the keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from spinedlr.design.calibration import METHODS as CALIBRATIONS
from spinedlr.design.calibration import SPLIT_METHODS as SPLIT_CALIBRATIONS
from spinedlr.design.models import MODEL_NAMES, check_grid
from spinedlr.settings import Settings

Role = Literal["train", "validation", "test"]
ClassLabel = str | int


class Frozen(Settings):
    """The design section's models: spinedlr.settings.Settings (immutable, no unknown keys)."""


class OutcomeSettings(Frozen):
    """What is predicted. ``classes`` is the class order (ordinal: lowest grade first) and
    names the ``prob_<class>`` columns; binary defaults to the 0/1 column with 1 positive."""

    column: str | None = Field(None, description="Outcome column; null = the top-level `outcome`.")
    kind: Literal["binary", "multiclass", "ordinal"] = "binary"
    classes: list[ClassLabel] | None = Field(
        None, description="Every value the outcome column may hold, in order (ordinal: "
        "lowest first). Binary default: [0, 1].")
    positive: ClassLabel | None = Field(
        None, description="Binary only: the event class (default: the last of `classes`).")

    @model_validator(mode="after")
    def _check(self) -> "OutcomeSettings":
        names = [str(c) for c in self.classes or []]
        if len(set(names)) != len(names):
            raise ValueError(f"outcome.classes has repeated values: {self.classes}")
        if self.kind == "binary":
            if self.classes is not None and len(self.classes) != 2:
                raise ValueError(f"a binary outcome needs exactly two classes; got {self.classes}")
            if self.positive is not None and str(self.positive) not in (names or ["0", "1"]):
                raise ValueError(f"outcome.positive {self.positive!r} is not one of the classes")
            return self
        if self.positive is not None:
            raise ValueError(f"outcome.positive applies to a binary outcome, not to {self.kind}")
        if self.classes is None or len(self.classes) < 3:
            order = " (lowest first)" if self.kind == "ordinal" else ""
            raise ValueError(f"a {self.kind} outcome needs its class order declared in "
                             f"outcome.classes{order}, at least three classes")
        return self


class UnitSettings(Frozen):
    """The unit of analysis: one row per patient (today), or several (e.g. one per disc level)
    identified by ``keys`` — the patient column plus the within-patient columns."""

    rows_per_patient: Literal["one", "several"] = "one"
    keys: list[str] = Field(
        default_factory=list,
        description="Columns that identify a row (e.g. [patient_id, ivd_label]); empty = the "
        "patient column alone. The patient column is the group of every split.")


class _Scheme(Frozen):
    stratify: bool = Field(True, description="Keep outcome proportions where the counts allow.")


class KFold(_Scheme):
    scheme: Literal["kfold"]
    folds: int = Field(10, ge=2)


class RepeatedKFold(_Scheme):
    scheme: Literal["repeated_kfold"]
    folds: int = Field(5, ge=2)
    repeats: int = Field(5, ge=1)


class Loocv(Frozen):
    scheme: Literal["loocv"]


class Bootstrap(Frozen):
    scheme: Literal["bootstrap"]
    resamples: int = Field(1000, ge=1)


class Fixed(_Scheme):
    """A random patient-level train/validation/test split with these fractions."""

    scheme: Literal["fixed"]
    train: float = Field(0.6, gt=0, lt=1)
    validation: float = Field(0.2, ge=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum(self) -> "Fixed":
        if abs(self.train + self.validation + self.test - 1) > 1e-9:
            raise ValueError("validation fractions train + validation + test must sum to 1; "
                             f"got {self.train} + {self.validation} + {self.test}")
        return self


class ByColumn(Frozen):
    """Roles by a manifest column (e.g. centre): every value of the column is given a role."""

    scheme: Literal["by_column"]
    column: str
    roles: dict[str, Role]

    @model_validator(mode="after")
    def _roles(self) -> "ByColumn":
        missing = {"train", "test"} - set(self.roles.values())
        if missing:
            raise ValueError(f"validation.roles must give some value of {self.column!r} the "
                             f"role(s) {', '.join(sorted(missing))}")
        return self


class Logo(Frozen):
    """Leave one group (e.g. scanner) out: each value of ``column`` is the test set once."""

    scheme: Literal["logo"]
    column: str


class External(Frozen):
    """Train on the study's manifest; test on another cohort's manifest (scored by `apply`)."""

    scheme: Literal["external"]
    manifest: str | None = Field(None, description="The external cohort's manifest, relative "
                                 "to study.yaml, with the study's columns.")

    @model_validator(mode="after")
    def _path(self) -> "External":
        if not self.manifest:
            raise ValueError("external validation needs validation.manifest: the path of the "
                             "external cohort's manifest")
        return self


class Internal(Frozen):
    """Today's design: the select and evaluate stages' own resampling (their sections)."""

    scheme: Literal["internal"] = "internal"


Validation = Annotated[
    Internal | KFold | RepeatedKFold | Loocv | Bootstrap | Fixed | ByColumn | Logo | External,
    Field(discriminator="scheme"),
]


class ModelSettings(Frozen):
    """A classifier from the registry (spinedlr.design.models) and its search grid.

    ``grid`` replaces the model's default grid; its keys are the classifier's own
    parameter names (``C``, ``n_estimators``), checked against the classifier."""

    name: Literal[MODEL_NAMES]  # type: ignore[valid-type]
    grid: dict[str, list] | None = None

    @model_validator(mode="after")
    def _grid(self) -> "ModelSettings":
        if self.grid is not None:
            check_grid(self.name, self.grid)
        return self


class DesignSettings(Frozen):
    """The study design; the defaults are the reference study's."""

    outcome: OutcomeSettings = Field(default_factory=OutcomeSettings)
    unit: UnitSettings = Field(default_factory=UnitSettings)
    validation: Validation = Field(default_factory=Internal)
    models: list[ModelSettings] = Field(default_factory=lambda: [ModelSettings(name="radscore")])
    search_folds: int = Field(5, ge=2, description="Patient-grouped folds of the hyper-parameter "
                              "search inside each training set.")
    calibration: Literal[CALIBRATIONS] = Field(  # type: ignore[valid-type]
        "none", description="Post-hoc calibration: isotonic, sigmoid or temperature fitted on "
        "the validation rows only; isotonic_cv, sigmoid_cv or temperature_cv fitted on "
        "patient-grouped out-of-fold predictions of the training rows (train and validation "
        "patients together), the model refitted on all of them; none.")

    @model_validator(mode="after")
    def _combinations(self) -> "DesignSettings":
        names = [m.name for m in self.models]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"design.models must name each model once; got {names}")
        if "radscore" in names and self.outcome.kind != "binary":
            raise ValueError(f"the radscore model needs a binary outcome; outcome.kind is "
                             f"{self.outcome.kind} (choose e.g. lr, random_forest, lightgbm)")
        if self.calibration in SPLIT_CALIBRATIONS and not has_validation_role(self.validation):
            raise ValueError(f"calibration {self.calibration} is fitted on a validation split: "
                             "use validation.scheme fixed (validation > 0) or by_column with a "
                             f"validation role, or the out-of-fold {self.calibration}_cv")
        return self


def has_validation_role(v: Frozen) -> bool:
    """True when the scheme sets rows apart for validation (where calibration is fitted)."""
    if isinstance(v, Fixed):
        return v.validation > 0
    return isinstance(v, ByColumn) and "validation" in v.roles.values()


def check_design(design: DesignSettings, patient_id: str) -> None:
    """Checks that need the study's top-level keys (called by StudyConfig's validator)."""
    keys = design.unit.keys
    if keys and patient_id not in keys:
        raise ValueError(f"design.unit.keys {keys} must include the patient column "
                         f"{patient_id!r} (the group of every split)")
    if design.unit.rows_per_patient == "several" and not set(keys) - {patient_id}:
        raise ValueError("several rows per patient need design.unit.keys naming the patient "
                         f"column and the column(s) that tell a patient's rows apart, e.g. "
                         f"[{patient_id}, ivd_label]")
    if design.unit.rows_per_patient == "one" and len(keys) > 1:
        raise ValueError(f"design.unit.keys {keys} name several columns: set "
                         "design.unit.rows_per_patient: several")
