"""Validation metrics during training: hard Dice from logits, on torch tensors.

Why not ``segment.metrics``: that module scores finished predictions per case and label
(Dice and HD95 in mm, numpy and scipy). Choosing the best epoch needs one number per
validation pass, computed where the logits are (GPU included) with voxel counts pooled over
all validation slices, so that a slice without the structure neither helps nor hurts.
"""

from __future__ import annotations

import torch
from torch import Tensor


def predict_classes(logits: Tensor) -> Tensor:
    """Class index per pixel: sigmoid > 0.5 for a one-channel head, else the argmax."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).to(torch.uint8)
    return logits.argmax(dim=1).to(torch.uint8)


def hard_dice(pred: Tensor, target: Tensor, n_fg: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per-class intersection, predicted and true voxel counts (classes 1..n_fg)."""
    cls = torch.arange(1, n_fg + 1, device=pred.device)[:, None]
    p, t = pred.flatten()[None] == cls, target.flatten()[None] == cls
    return (p & t).sum(1), p.sum(1), t.sum(1)


def mean_dice(inter: Tensor, psum: Tensor, tsum: Tensor) -> float:
    """Mean Dice over the classes present in prediction or truth (NaN if none is)."""
    present = (psum + tsum) > 0
    if not present.any():
        return float("nan")
    d = 2 * inter[present].double() / (psum[present] + tsum[present]).double()
    return float(d.mean())
