"""Evaluation settings (the `evaluate:` section of study.yaml)."""

from typing import Literal

from pydantic import Field, model_validator

from spinedlr.presets import reference
from spinedlr.settings import Settings


def _percent_thresholds() -> list[float]:
    return [round(i / 100, 2) for i in range(1, 100)]


class EvaluateSettings(Settings):
    """Defaults reproduce the reference study: LOOCV, 10-fold CV, 1,000 bootstraps; pAUC over
    sensitivity and specificity 1-0.8 with disc vs combined compared; calibration B = 1,000;
    Hosmer-Lemeshow over deciles; decision and clinical impact curves over 1-99%."""

    boot_n: int = Field(default=1000, ge=0, description="Bootstrap resamples for internal validation (0 skips).")
    folds: int = Field(default=10, ge=0, description="k of k-fold cross-validation (0 skips).")
    loocv: bool = True
    conf_level: float = Field(default=0.95, gt=0, lt=1)
    pauc_range: tuple[float, float] = (1.0, 0.8)
    pauc_boot_n: int = Field(default=2000, ge=10, description="Bootstrap resamples of the pAUC comparison.")
    pauc_compare: tuple[str, str] | None = Field(
        default=reference.PAUC_COMPARE,
        description="Two Radscore columns whose partial AUCs are compared (None skips).",
    )
    calibration_b: int = Field(default=1000, ge=10, description="Bootstrap resamples of rms::calibrate.")
    hl_groups: int = Field(default=10, ge=3, description="Hosmer-Lemeshow risk groups.")
    thresholds: list[float] = Field(default_factory=_percent_thresholds, description="DCA / clinical impact risk thresholds.")
    population: int = Field(default=1000, gt=0, description="Population size of the clinical impact curve.")
    interaction: tuple[str, str] | None = Field(
        default=reference.INTERACTION,
        description="Radscores (a, b) split at their Youden cut-offs into four groups (None skips).",
    )
    separation: Literal["firth", "refuse"] = Field(
        default="firth",
        description="When a model's maximum likelihood estimate does not exist (a covariate level "
                    "without events, or any quasi-complete separation): fit Firth's penalised "
                    "likelihood with profile penalised likelihood CIs (firth), or stop (refuse).",
    )
    fisher_rule: Literal["any_below_5", "cochran"] = Field(
        default="cochran", description="When Table 1 uses Fisher's exact test (cochran = the reference study's)."
    )

    @model_validator(mode="after")
    def _check(self) -> "EvaluateSettings":
        if any(not 0 < t < 1 for t in self.thresholds):
            raise ValueError("thresholds must lie strictly between 0 and 1")
        if any(not 0 <= x <= 1 for x in self.pauc_range) or self.pauc_range[0] == self.pauc_range[1]:
            raise ValueError("pauc_range must be two different numbers in [0, 1]")
        return self
