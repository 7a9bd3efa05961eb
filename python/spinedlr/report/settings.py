"""Report settings (the `report:` section of study.yaml)."""

from pydantic import BaseModel, ConfigDict


class ReportSettings(BaseModel):
    """Where and how the HTML report is rendered."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
