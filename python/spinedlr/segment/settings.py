"""Segmentation settings (the `segment:` section of study.yaml) and the two presets.

Presets bundle the settings that decide cost:
- ``paper``: the reference study (base_channel 64, 224 px, batch 32, 50 epochs, Adam lr 1e-4,
  weight decay 1e-4). Meant for a GPU: on this machine's 2 idle cores it trains at 0.27
  images/s and infers at 1.5 images/s (bench/results/segment.json, 2026-11-23).
- ``cpu``: base_channel 16, 128 px, batch 8, 60 epochs, lr 1e-3. Measured on 2 idle cores:
  training 9.7 images/s with channels-last (9.3 without), inference 44 images/s (35
  without); in the real-data benchmark one core per ROI trained 5.3-6.1 images/s. The
  higher learning rate is on purpose: with a 4x narrower network, 4x smaller batches and a
  budget of minutes, there are only a few hundred optimiser steps, and Adam at 1e-4 barely
  leaves its initial state in that many (1e-3 is the usual rate for U-Nets trained from
  scratch). Not tuned beyond that.
Any field set explicitly (e.g. ``epochs: 10``) overrides the preset's value.
"""

from typing import Literal, TypeVar

from pydantic import Field

from spinedlr.settings import Settings


P = TypeVar("P", bound=Settings)
Precision = Literal["auto", "fp32", "bf16", "fp16"]  # see spinedlr.segment.precision


class Preset(Settings):
    """The resolved training recipe."""

    base_channel: int
    img_size: int
    batch_size: int
    epochs: int
    lr: float
    weight_decay: float
    zoom: float = 1.0
    lr_schedule: Literal["constant", "poly"] = "poly"


def with_overrides(preset: P, settings: Settings) -> P:
    """``preset`` with each of its fields that ``settings`` sets (not None) replaced: how
    every preset-based section (``segment``, ``classify3d``) lets a user change one value."""
    base = preset.model_dump()
    base.update({k: getattr(settings, k) for k in base if getattr(settings, k, None) is not None})
    return type(preset)(**base)


PRESETS: dict[str, Preset] = {
    "paper": Preset(base_channel=64, img_size=224, batch_size=32, epochs=50, lr=1e-4, weight_decay=1e-4),
    "cpu": Preset(base_channel=16, img_size=128, batch_size=8, epochs=60, lr=1e-3, weight_decay=1e-4),
}


class SegmentSettings(Settings):
    """Defaults: the `cpu` preset, so a demo study trains in minutes on a laptop."""

    enabled: bool = True
    preset: Literal["cpu", "paper"] = "cpu"
    train_rater: str = Field(default="rater1", description="Whose masks the network learns.")
    base_channel: int | None = Field(default=None, ge=4)
    img_size: int | None = Field(default=None, ge=32)
    batch_size: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1)
    lr: float | None = Field(default=None, gt=0)
    weight_decay: float | None = Field(default=None, ge=0)
    zoom: float | None = Field(
        default=None, ge=1, description="Fit slices to zoom x img_size and let the network see "
        "them in img_size tiles (see segment.tiles): more detail for small structures in a "
        "large field of view at the same cost per training step. 1 = whole slice at img_size.")
    lr_schedule: Literal["constant", "poly"] | None = Field(
        default=None, description="'poly' (default): lr x (1 - progress)^0.9 each epoch, as in "
        "nnU-Net, so the last epochs settle instead of jumping between solutions at full rate "
        "(real muscle sample, zoom 2, 12-minute runs: at a constant rate test Dice still swung "
        "0.61-0.84 from one check to the next in the last 5 minutes; with poly it held 0.77-0.82 "
        "in the last 3). 'constant': lr throughout.")
    max_train_patients: int | None = Field(
        default=None, ge=2, description="Train on a seeded random subset of this many patients "
        "(None = all): the network only needs enough anatomy, and training time grows with it.")
    val_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share held out for choosing the best epoch: whole patients when there "
        "are at least 5, else the last slices of each training volume.",
    )
    background_ratio: float = Field(
        default=0.5, ge=0, description="Empty slices kept per slice with foreground."
    )
    augment: bool = True
    patience: int | None = Field(
        default=None, ge=1, description="Stop after this many epochs without a better validation Dice."
    )
    largest_component: bool = Field(
        default=True, description="Keep only the largest 3D component of each predicted label."
    )
    precision: Precision = Field(
        default="auto",
        description="Arithmetic of training, prediction, deep features and Grad-CAM (see "
        "segment.precision): 'auto' = bf16 where the CPU (AVX512-BF16/AMX) or GPU runs it "
        "natively, else fp32; 'fp16' needs CUDA. Weights, loss and metrics stay fp32. On this "
        "project's 2-core AVX512-BF16 CPU, bf16 vs fp32 at the paper preset on one thread: "
        "training 2.05x, inference 1.94x faster (1.3x on two threads of a busy machine); "
        "real-disc Dice after 30 min 0.826 vs 0.834 (bench/results/segment.json).",
    )
    channels_last: bool = Field(
        default=True,
        description="Faster on CPU in every run measured: training 9.4 vs 7.2 and 9.7 vs 9.3 "
        "images/s (two idle-machine runs), inference 44 vs 35 images/s.",
    )

    def resolved(self) -> Preset:
        """The preset with explicit overrides applied."""
        return with_overrides(PRESETS[self.preset], self)


class NumberByPosition(Settings):
    """Labels that are repeated instances of one structure, told apart only by position.

    Lumbar discs (L5/S1, L4/L5, ...) look alike; which one a disc is follows from where it
    sits in the column, not from how it looks. A network asked to learn each level as its own
    class must count, and with a handful of training patients it miscounts (measured on the
    real sample: one level at Dice 0.07 while its outline was right). With this set, the
    network learns one foreground class and prediction numbers the connected components along
    ``axis``: the lowest label value goes to the component nearest the ``first`` end.

    The axis is an array axis (numpy z, y, x order), not a patient direction: exported volumes
    often carry resampled or identity direction headers (the real sample does), so array order
    is the one convention that holds for every file a study brings.
    """

    axis: int = Field(ge=0, le=2, description="numpy axis along which the instances are ordered.")
    first: Literal["start", "end"] = Field(
        description="Where the lowest label value lies: near index 0 ('start') or the last index."
    )
    min_fraction: float = Field(
        default=0.2, gt=0, le=1,
        description="Components smaller than this share of the largest are noise, not instances.",
    )
