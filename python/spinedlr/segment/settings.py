"""Segmentation settings (the `segment:` section of study.yaml)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict


class SegmentSettings(BaseModel):
    """Defaults: the `cpu` preset, so a demo study trains in minutes on a laptop."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    preset: Literal["cpu", "paper"] = "cpu"
    device: str = "auto"
