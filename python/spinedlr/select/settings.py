"""Selection settings (the `select:` section of study.yaml)."""

from pydantic import BaseModel, ConfigDict


class SelectSettings(BaseModel):
    """Defaults are the reference study's ICC → mRMR+RF → correlation → LASSO/SVM-RFE chain."""

    model_config = ConfigDict(extra="forbid")

    icc_threshold: float = 0.75
