"""Evaluation settings (the `evaluate:` section of study.yaml)."""

from pydantic import BaseModel, ConfigDict


class EvaluateSettings(BaseModel):
    """Defaults: the reference study's validation (LOOCV, 10-fold, 1,000 bootstraps)."""

    model_config = ConfigDict(extra="forbid")

    boot_n: int = 1000
    folds: int = 10
