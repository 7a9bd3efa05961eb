"""The frozen model of a fitted study: what `spinedlr apply` scores new units with.

Why a record file beside the formulas: the Radscore formulas hold the coefficients, the
training means and SDs and the PCA axes, but not which formula is the study's model, how the
classes are coded, which rater's features it was fitted on, or which extraction settings
produced those features. `select` writes all of that to ``selection/model.json``; `apply`
reads it back and never refits anything: every statistic that scales a feature comes from
the training patients, so a new cohort's own mean cannot leak into its scores.

``selection/predictions.parquet`` holds the fitted study's own predictions, computed by
``FrozenModel.predict`` from the training features, so `apply` on the study's own manifest
must reproduce it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
from scipy.special import expit

from spinedlr.config import Study
from spinedlr.design.outcome import OutcomeCoding, outcome_coding
from spinedlr.design.units import unit_keys
from spinedlr.errors import InputError
from spinedlr.extract.params import effective_params, params_hash
from spinedlr.extract.tasks import FileHasher
from spinedlr.outputs import inside
from spinedlr.select.radscore import apply_formula, read_formula

# The record and the fitted predictions, relative to the output folder (spinedlr.paths).
from spinedlr.paths import FITTED_PREDICTIONS as PREDICTIONS_FILE  # noqa: F401
from spinedlr.paths import MODEL_RECORD as MODEL_FILE  # noqa: F401

MODEL_VERSION = 1
ROI_KEYS = {"labels", "combine", "dim", "slice_axis", "whole_image", "number_by_position"}


def fingerprint(study: Study, deep_rois: list[str]) -> dict:
    """What makes a unit's features what they are: per ROI its geometry settings and the
    effective PyRadiomics parameters, and for ROIs with deep features the network's bytes
    and the deep settings. Runtime options (workers, scheduler) are not part of it."""
    cfg = study.config
    logging.getLogger("radiomics").setLevel(logging.ERROR)  # its parameter check talks at INFO
    deep = cfg.extract.deep.model_dump(mode="json", exclude={"gradcam_patients", "model"})
    deep |= {"selection": cfg.extract.deep_selection.enabled, "precision": cfg.segment.precision}
    out: dict = {}
    for roi in cfg.rois:
        params = effective_params(cfg.extract, study.root, roi.dim, roi.slice_axis)
        out[roi.name] = {"roi": roi.model_dump(mode="json", include=ROI_KEYS),
                         "radiomics": params_hash(params)}
        if roi.name in deep_rois:
            from spinedlr.extract.deep_stage import model_path  # torch: only with deep features

            out[roi.name]["deep"] = {"settings": deep,
                                     "network": FileHasher()(str(model_path(study, roi.name)))}
    return out


def formula_inputs(formula: dict) -> list[str]:
    """The feature columns a Radscore formula reads: its features, PCA inputs for its PCs."""
    names = [x["feature"] for x in formula["features"]]
    pca = formula.get("pca") or {}
    made = set(pca.get("outputs", []))
    return list(dict.fromkeys([*pca.get("inputs", []), *(n for n in names if n not in made)]))


def model_record(study: Study, formulas: dict[str, str], deep_rois: list[str],
                 combined: str | None) -> dict:
    """The content of ``selection/model.json`` (select writes it beside the formulas).

    ``formulas`` maps ROI -> file name of its Radscore formula; ``combined`` names the
    formula of the logistic model of the ROI Radscores (several ROIs) or is None.
    """
    cfg = study.config
    coding = outcome_coding(cfg.design.outcome, cfg.outcome)
    return {
        "version": MODEL_VERSION, "kind": "radscore",
        "outcome": {"column": coding.column, "kind": coding.kind, "classes": list(coding.classes)},
        "unit_keys": unit_keys(cfg.design.unit, cfg.patient_id),
        "rater": cfg.select.model_rater, "rois": formulas, "combined": combined,
        "deep_rois": deep_rois, "calibration": "none", "threshold": "argmax",
        "fingerprint": fingerprint(study, deep_rois),
    }


@dataclass(frozen=True)
class FrozenModel:
    """A fitted study's model, read back: formulas, class coding and feature fingerprint."""

    coding: OutcomeCoding
    keys: list[str]
    rater: str
    formulas: dict[str, dict]
    combined: dict | None
    deep_rois: list[str]
    fingerprint: dict

    def features(self, roi: str) -> list[str]:
        """Every feature column the ROI's formula reads (PCA inputs included)."""
        return formula_inputs(self.formulas[roi])

    def scores(self, wides: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """patient_id and the model's linear predictor, from one wide table per ROI."""
        per_roi = None
        for roi, formula in self.formulas.items():
            rs = apply_formula(formula, wides[roi]).rename({"radscore": f"radscore_{roi}"})
            per_roi = rs if per_roi is None else per_roi.join(rs, on="patient_id", how="inner")
        if self.combined is None:
            return per_roi.rename({per_roi.columns[1]: "score"})
        return apply_formula(self.combined, per_roi).rename({"radscore": "score"})

    def predict(self, wides: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """patient_id, ``prob_<class>`` for every class and the predicted class."""
        scores = self.scores(wides)
        p1 = expit(scores["score"].to_numpy())
        probs = np.column_stack([1.0 - p1, p1])
        names = self.coding.prob_columns
        return pl.DataFrame({
            "patient_id": scores["patient_id"],
            **{name: probs[:, i] for i, name in enumerate(names)},
            "predicted": self.coding.decode(np.argmax(probs, axis=1)),
        })

    def check_fingerprint(self, study: Study) -> None:
        """InputError naming each ROI whose extraction settings or network changed since the
        model was fitted: applying it would score features it was never fitted on."""
        now = fingerprint(study, self.deep_rois)
        changed = [roi for roi, fp in self.fingerprint.items() if now.get(roi) != fp]
        if changed:
            raise InputError(
                f"the extraction settings or segmentation network of ROI(s) {', '.join(changed)} "
                "changed since the model was fitted; run `spinedlr run` on the study again "
                "before applying it")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: unreadable model record ({err}); run `spinedlr select run` "
                         "again") from None


def from_record(rec: dict, formula: Callable[[str], dict]) -> FrozenModel:
    """The model a record describes; ``formula`` returns a formula by its file name."""
    out = rec["outcome"]
    return FrozenModel(
        coding=OutcomeCoding(out["column"], out["kind"], tuple(out["classes"])),
        keys=list(rec["unit_keys"]), rater=rec["rater"],
        formulas={roi: formula(name) for roi, name in rec["rois"].items()},
        combined=formula(rec["combined"]) if rec["combined"] else None,
        deep_rois=list(rec["deep_rois"]), fingerprint=rec["fingerprint"],
    )


def load_frozen(study: Study) -> FrozenModel:
    """The study's fitted model, or one InputError saying what to run first."""
    path = study.paths.model_record
    if not path.exists():
        raise InputError(f"{path}: the study has no fitted model yet; run `spinedlr run "
                         f"{study.path}` first (a study fitted by an older version: run "
                         "`spinedlr select run` again)")
    rec = _read_json(path)
    if rec.get("version") != MODEL_VERSION or rec.get("kind") != "radscore":
        raise InputError(f"{path}: model record version {rec.get('version')!r}, kind "
                         f"{rec.get('kind')!r} is not one this toolkit applies; fit the study again")
    if rec.get("calibration") != "none":
        raise InputError(f"{path}: calibration {rec.get('calibration')!r} cannot be applied yet")
    try:
        return from_record(rec, lambda name: read_formula(inside(path.parent, name)))
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: incomplete model record ({err}); run `spinedlr select run` "
                         "again") from None
