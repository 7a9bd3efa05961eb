"""Which configured design axis the stages cannot run yet, said before any stage starts.

Why a check up front: the select and evaluate stages implement the reference design only
(binary 0/1 outcome, one row per patient, their own internal resampling, the Radscore), plus
an external test cohort scored by the external stage with the frozen model, and other
classifiers of ``design.models`` compared by the compare stage; the grading
stage implements one per-unit multi-class design (Pfirrmann grade per disc); the fusion
stage one binary fixed-split design (train/validation/test, Zou et al. 2025). A
study that configures another design must not run for an hour and then fail, or worse run
the reference design silently; it gets one error naming each axis and the stage that lacks
it. Columns the design names are checked against the manifest's header at the same time.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spinedlr.design import settings as ds
from spinedlr.design.outcome import outcome_coding
from spinedlr.design.units import unit_keys
from spinedlr.errors import ConfigError, ManifestError

STAGES = "the select and evaluate stages"


def unsupported(design: ds.DesignSettings, outcome: str) -> list[str]:
    """One line per configured axis that the select and evaluate stages cannot run yet."""
    out = []
    coding = outcome_coding(design.outcome, outcome)
    if coding.kind != "binary":
        out.append(f"design.outcome.kind {coding.kind}: {STAGES} fit a binary outcome only")
    elif coding.classes != ("0", "1") or coding.column != outcome:
        out.append(f"design.outcome (column {coding.column!r}, classes {list(coding.classes)}): "
                   f"{STAGES} read the top-level `outcome` column as 0/1; recode it or set "
                   "`outcome:` instead")
    if design.unit.rows_per_patient != "one":
        out.append(f"design.unit.rows_per_patient several: {STAGES} need one row per patient")
    if design.validation.scheme not in ("internal", "external"):
        out.append(f"design.validation.scheme {design.validation.scheme}: {STAGES} resample "
                   "internally only (select.validation_*, evaluate.loocv/folds/boot_n)")
    others = [m.name for m in design.models if m.name != "radscore"]
    if others and out:
        out.append(f"design.models {', '.join(others)}: {STAGES} fit the radscore model only, and "
                   "the compare stage compares classifiers on a design they run")
    if any(m.name == "radscore" and m.grid for m in design.models):
        out.append(f"design.models radscore: {STAGES} fit the Radscore without a grid")
    if design.calibration != "none":
        out.append(f"design.calibration {design.calibration}: {STAGES} do not calibrate")
    return out


def per_unit_multiclass(design: ds.DesignSettings) -> bool:
    """True for the grading design: an ordinal or multi-class outcome on several rows per
    patient. Such a study runs the grading stage instead of the reference stages."""
    return design.outcome.kind != "binary" and design.unit.rows_per_patient == "several"


def fixed_split(design: ds.DesignSettings) -> bool:
    """True for the fusion design: a binary outcome, one row per patient and a fixed
    train/validation/test split (random, or roles by a column such as centre). Such a study
    runs the fusion stage instead of the select and evaluate stages."""
    return (design.outcome.kind == "binary" and design.unit.rows_per_patient == "one"
            and isinstance(design.validation, ds.Fixed | ds.ByColumn))


FUSION = "the fusion stage"


def unsupported_fusion(design: ds.DesignSettings, outcome: str) -> list[str]:
    """One line per axis of a fixed-split design that the fusion stage cannot run: it fits
    the top-level 0/1 outcome, compares the registry's classifiers (not the Radscore) and
    does not calibrate."""
    out = []
    coding = outcome_coding(design.outcome, outcome)
    if coding.classes != ("0", "1") or coding.column != outcome:
        out.append(f"design.outcome (column {coding.column!r}, classes {list(coding.classes)}): "
                   f"{FUSION} reads the top-level `outcome` column as 0/1")
    if any(m.name == "radscore" for m in design.models):
        out.append(f"design.models radscore: {FUSION} compares the registry's classifiers")
    if design.calibration != "none":
        out.append(f"design.calibration {design.calibration}: {FUSION} does not calibrate")
    return out


GRADING = "the grading stage"


def unsupported_grading(design: ds.DesignSettings, patient_id: str) -> list[str]:
    """One line per axis of a per-unit multi-class design that the grading stage cannot run:
    it grades Pfirrmann 1-5 per disc (spinedlr.grading), with a fixed patient-level
    train/validation/test split, a calibration and its own models and grids."""
    from spinedlr.grading.features import DISC_KEYS
    from spinedlr.grading.metrics import GRADES
    from spinedlr.grading.settings import GRADING_MODELS

    out = []
    o = design.outcome
    if (o.column or "pfirrmann") != "pfirrmann" or [str(c) for c in o.classes or []] != [
            str(g) for g in GRADES]:
        out.append(f"design.outcome (column {o.column!r}, classes {o.classes}): {GRADING} "
                   f"grades the column 'pfirrmann' with classes {list(GRADES)}")
    if list(design.unit.keys) != list(DISC_KEYS) or patient_id != DISC_KEYS[0]:
        out.append(f"design.unit.keys {design.unit.keys}: {GRADING} needs {list(DISC_KEYS)}")
    if not (isinstance(design.validation, ds.Fixed) and design.validation.validation > 0):
        out.append(f"design.validation.scheme {design.validation.scheme}: {GRADING} runs a "
                   "fixed train/validation/test split (plus grouped CV and scanner hold-out)")
    bad = [m.name for m in design.models if m.name not in GRADING_MODELS or m.grid]
    if bad:
        out.append(f"design.models {', '.join(bad)}: {GRADING} fits "
                   f"{', '.join(GRADING_MODELS)} with their own grids")
    if design.calibration == "none":
        out.append(f"design.calibration none: {GRADING} calibrates (isotonic, sigmoid or "
                   "temperature, on the validation patients or out of fold: *_cv)")
    return out


def check_columns(design: ds.DesignSettings, columns: list[str], patient_id: str,
                  outcome: str, where: str = "the manifest") -> None:
    """ManifestError naming the first column the design needs that ``columns`` lacks."""
    needed = {"outcome": outcome_coding(design.outcome, outcome).column}
    needed |= {f"unit key {k!r}": k for k in unit_keys(design.unit, patient_id)}
    if isinstance(design.validation, ds.ByColumn | ds.Logo):
        needed["design.validation.column"] = design.validation.column
    for what, column in needed.items():
        if column not in columns:
            raise ManifestError(f"{where} has no column {column!r} (the {what} of the design)")


def _header(path: Path) -> list[str]:
    try:
        return pl.read_csv(path, n_rows=0).columns
    except (OSError, pl.exceptions.PolarsError) as err:
        raise ManifestError(f"{path}: cannot read the manifest header ({err})") from None


def require_supported(study) -> None:
    """Raise unless the study's design runs in today's stages (no IO for the default design)."""
    cfg = study.config
    design = cfg.design
    if design == ds.DesignSettings():
        return
    if study.manifest_path.exists():
        check_columns(design, _header(study.manifest_path), cfg.patient_id, cfg.outcome)
    if isinstance(design.validation, ds.External):
        path = study.resolve(design.validation.manifest)
        if not path.is_file():
            raise ConfigError(f"design.validation.manifest: {path} is not a file")
        check_columns(design, _header(path), cfg.patient_id, cfg.outcome, str(path))
    if per_unit_multiclass(design):
        problems = unsupported_grading(design, cfg.patient_id)
    elif fixed_split(design):
        problems = unsupported_fusion(design, cfg.outcome)
    else:
        problems = unsupported(design, cfg.outcome)
    if problems:
        raise ConfigError("this study's design is not yet supported:\n  "
                          + "\n  ".join(problems))
