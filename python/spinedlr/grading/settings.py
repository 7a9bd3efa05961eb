"""The ``grading:`` section of study.yaml: what the grading stage runs beside the design.

Why a section of its own: the design block says *what* is predicted and validated (ordinal
grade, one row per disc, 60/20/20, the calibration, which models); this section
holds the grading stage's extra views and their sizes (grouped-CV folds and repeats, the
bootstrap's resamples, the crude baseline beside the models, the leave-one-scanner-out
model), so a study can shrink them for a quick look without touching the design.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from spinedlr.settings import Settings

GRADING_MODELS = ("baseline_lr", "lr", "random_forest", "lightgbm", "ordinal_polr", "rf_t1", "rf_deep")
"""The models of ``spinedlr.grading.fit.MODELS`` (a test keeps the two equal; named here so
loading a config does not import scikit-learn)."""


class GradingSettings(Settings):
    """Sizes of the grading stage's views; seeds come from the study seed (seeds.py)."""

    baseline: bool = Field(True, description="Also fit the crude 16-feature intensity "
                           "baseline (baseline_lr) beside design.models: the bar to clear.")
    cv_folds: int = Field(5, ge=2, description="Patient-grouped, grade-stratified CV folds.")
    cv_repeats: int = Field(1, ge=1, description="CV reshuffles (fold seeds seed, seed+1, ...).")
    bootstrap: int = Field(500, ge=0, description="Patient-bootstrap resamples of the hold-out "
                           "test metrics' CIs (0: estimates only).")
    loso_model: Literal[GRADING_MODELS] | None = Field(  # type: ignore[valid-type]
        "random_forest", description="Model refitted with each scanner held out; null: no "
        "leave-one-scanner-out.")

    @model_validator(mode="after")
    def _check(self) -> "GradingSettings":
        if self.bootstrap == 1:
            raise ValueError("grading.bootstrap: one resample gives no interval; use 0 or >= 2")
        return self
