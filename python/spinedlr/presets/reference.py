"""The reference study (Zhang et al. 2026, PRLDH after endoscopic discectomy) as a preset.

Every name the reference study gives — its two ROIs, their mask columns and labels, its
fourteen covariates, the outcome, the comparator, and the Radscores its pAUC comparison and
interaction groups use — lives here and nowhere else in the toolkit's code, so the pipeline
stays a pipeline for any study and the reference is one configuration of it (the defaults of
``StudyConfig``). The demo generator writes a study with these names.
"""

from __future__ import annotations

NAME = "PRLDH after endoscopic discectomy"
OUTCOME = "recurrence"
OUTCOME_LABEL = "Recurrence"
COMPARATOR = "pfirrmann"

DISC, MUSCLE = "disc", "muscle"
ROI_NAMES = (DISC, MUSCLE)

MUSCLE_LABELS = {
    1: "multifidus_left",
    2: "multifidus_right",
    3: "erector_spinae_left",
    4: "erector_spinae_right",
    5: "psoas_left",
    6: "psoas_right",
}


def score(roi: str) -> str:
    """The Radscore column of a ROI (``radscore_<roi>``), as the select stage names it."""
    return f"radscore_{roi}"


PAUC_COMPARE = (score(DISC), "radscore_combined")
"""The two Radscores whose partial AUCs the reference study compares."""
INTERACTION = (score(MUSCLE), score(DISC))
"""The Radscores split at their Youden cut-offs into the four interaction groups."""


def rois() -> list[dict]:
    """The two ROIs: the disc on sagittal T2, the paraspinal muscles (six labels, one ROI) on
    axial T2, each outlined by two raters."""
    return [
        {"name": name, "image": f"{name}_image",
         "masks": {r: f"{name}_mask_{r}" for r in ("rater1", "rater2")},
         "dim": "3D", "plane": plane, "slice_axis": 0, "labels": labels, "combine": "union"}
        for name, plane, labels in ((DISC, "sagittal", {1: DISC}),
                                    (MUSCLE, "axial", dict(MUSCLE_LABELS)))
    ]


def covariates() -> list[dict]:
    """The fourteen clinical covariates of Table 1, with their types and levels."""
    def c(name: str, type: str, label: str, levels: list | None = None) -> dict:
        return {"name": name, "type": type, "levels": levels, "label": label}

    return [
        c("age", "continuous", "Age (years)"),
        c("gender", "binary", "Gender", ["female", "male"]),
        c("bmi", "continuous", "BMI (kg/m²)"),
        c("smoking", "binary", "Smoking", ["no", "yes"]),
        c("duration", "continuous", "Disease duration (years)"),
        c("diabetes", "binary", "Diabetes", ["no", "yes"]),
        c("hypertension", "binary", "Hypertension", ["no", "yes"]),
        c("vas_pre", "ordinal", "Pre-operative VAS", [3, 4, 5, 6, 7, 8]),
        c("vas_post", "ordinal", "Post-operative VAS", [2, 3]),
        c("occupation", "nominal", "Occupation", ["office_worker", "laborer", "farmer", "self_employed"]),
        c(COMPARATOR, "ordinal", "Pfirrmann grade", ["III", "IV", "V"]),
        c("modic", "nominal", "Modic change", ["normal", "I", "II", "III"]),
        c("herniation_type", "nominal", "Herniation type", ["bulge", "herniation", "prolapse"]),
        c("segment", "nominal", "Herniation segment", ["L3/4", "L4/5", "L5/S1"]),
    ]
