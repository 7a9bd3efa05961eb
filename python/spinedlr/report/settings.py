"""Report settings (the `report:` section of study.yaml)."""

from spinedlr.settings import Settings


class ReportSettings(Settings):
    """Where and how the HTML report is rendered."""


    title: str | None = None
