"""Extraction settings (the `extract:` section of study.yaml)."""

from pydantic import BaseModel, ConfigDict


class ExtractSettings(BaseModel):
    """Defaults reproduce the reference study's 1,223 features per ROI."""

    model_config = ConfigDict(extra="forbid")

    params: str | None = None
    workers: int = 1
    scheduler: str | None = None
