"""Settings of the trainable 3D classifier and its two presets.

Presets bundle what decides cost:

- ``paper``: Zou et al. 2025's ViT-3D — inputs resized to 128³, patch 16, hidden size (their
  ``dim``) 1024, depth 6, 8 heads, MLP 2048, learning rate 2e-5 (all from the paper). Batch
  size, epoch count and weight decay are not stated there; 8, 50 and 1e-4 are our choices.
  About 55 M parameters: meant for a GPU.
- ``cpu``: 64³ inputs, patch 16 (64 tokens), hidden 128, depth 2, 4 heads, MLP 256, lr 1e-3:
  the same architecture small enough to train for a demo on two cores in minutes. As for
  the segmentation ``cpu`` preset, the higher learning rate is on purpose: a network trained
  from scratch for a few hundred steps barely moves at 2e-5.

``network: resnet3d`` swaps the transformer for a small MONAI 3D ResNet (basic blocks, one per
stage, widths ``resnet_widths``). It is the convolutional alternative, with about a quarter of
the cpu ViT's parameters. It is not faster: one thread at the cpu preset trained 20 vs 71
images/s for the ViT (bench/results/classify3d.json). By count, its 7³ stem convolution
alone is about 90 M multiply-adds per 64³ input, against about 50 M for the whole small ViT.
Any field set explicitly overrides the preset's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from spinedlr.segment.settings import Precision, with_overrides
from spinedlr.settings import Settings


class Architecture(Settings):
    """Input size and network shape (ViT fields, then the ResNet's widths)."""

    input_size: int
    patch_size: int
    hidden_size: int
    depth: int
    heads: int
    mlp_dim: int
    resnet_widths: tuple[int, int, int, int]


class Preset(Architecture):
    """The resolved recipe: architecture and optimiser."""

    batch_size: int
    epochs: int
    lr: float
    weight_decay: float


PRESETS: dict[str, Preset] = {
    "paper": Preset(input_size=128, patch_size=16, hidden_size=1024, depth=6, heads=8, mlp_dim=2048,
                    resnet_widths=(64, 128, 256, 512), batch_size=8, epochs=50, lr=2e-5,
                    weight_decay=1e-4),
    "cpu": Preset(input_size=64, patch_size=16, hidden_size=128, depth=2, heads=4, mlp_dim=256,
                  resnet_widths=(8, 16, 32, 64), batch_size=8, epochs=30, lr=1e-3, weight_decay=1e-4),
}


class NetConfig(Architecture):
    """What builds the network (recorded in checkpoints; a resume needs it unchanged)."""

    network: Literal["vit", "resnet3d"]
    in_channels: int = 1

    @model_validator(mode="after")
    def _fits(self) -> NetConfig:
        """Reject shapes MONAI would reject later with a less helpful message."""
        if self.network == "vit":
            if self.input_size % self.patch_size:
                raise ValueError(f"input_size {self.input_size} must be a multiple of patch_size {self.patch_size}")
            if self.hidden_size % self.heads:
                raise ValueError(f"hidden_size {self.hidden_size} must be divisible by heads {self.heads}")
        elif self.input_size < 16:
            raise ValueError("resnet3d needs input_size >= 16 (it downsamples 16-fold)")
        return self


class Classify3DSettings(Settings):
    """Defaults: the ``cpu`` preset with the ViT, in the precision ``auto`` resolves to."""

    network: Literal["vit", "resnet3d"] = "vit"
    preset: Literal["cpu", "paper"] = "cpu"
    input_size: int | None = Field(default=None, ge=16)
    patch_size: int | None = Field(default=None, ge=2)
    hidden_size: int | None = Field(default=None, ge=8)
    depth: int | None = Field(default=None, ge=1)
    heads: int | None = Field(default=None, ge=1)
    mlp_dim: int | None = Field(default=None, ge=8)
    resnet_widths: tuple[int, int, int, int] | None = None
    batch_size: int | None = Field(default=None, ge=2, description="BatchNorm of resnet3d needs 2.")
    epochs: int | None = Field(default=None, ge=1)
    lr: float | None = Field(default=None, gt=0)
    weight_decay: float | None = Field(default=None, ge=0)
    margin: int = Field(
        default=4, ge=0, description="Voxels kept around the ROI's bounding box before resizing: "
        "the boundary and its surroundings carry texture a tight crop would cut.")
    precision: Precision = Field(default="auto", description="See spinedlr.segment.precision.")
    seed: int = Field(default=0, description="Initialisation, shuffling and dropout.")
    weights: Path | None = Field(
        default=None, description="Local state-dict file for transfer initialisation (the whole "
        "classifier, or only its backbone: the head then starts random). None = random init.")
    device: str = "auto"
    num_threads: int = Field(default=0, ge=0, description="As segment.num_threads (0 = auto).")

    def resolved(self) -> Preset:
        """The preset with explicit overrides applied."""
        return with_overrides(PRESETS[self.preset], self)

    def net_config(self, in_channels: int = 1) -> NetConfig:
        """The architecture part of the resolved preset, for this network."""
        p = self.resolved()
        arch = {k: getattr(p, k) for k in Architecture.model_fields}
        return NetConfig(network=self.network, in_channels=in_channels, **arch)
