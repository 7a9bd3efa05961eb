"""Training loss: cross-entropy (or BCE for a one-channel head) plus soft Dice, as in nnU-Net.

Why both terms: cross-entropy gives every voxel a gradient and converges smoothly, but on
small structures (a disc is a few percent of a slice) the background dominates it; soft Dice
is a ratio over the foreground and does not care how much background there is. Their sum is
nnU-Net's default and needs no class weights. Only torch is imported here, so the loss runs
on a machine with torch alone (bench/segment_throughput.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

SMOOTH = 1.0  # added to numerator and denominator: an empty class in an empty batch scores 1


def soft_dice(prob: Tensor, target: Tensor) -> Tensor:
    """Soft Dice per foreground class of (N, K, H, W) probabilities and one-hot targets,
    voxels pooled over the batch (one ratio per class, not per image: an image without the
    class would otherwise score 0 or 1 at random)."""
    dims = (0, 2, 3)
    return (2 * (prob * target).sum(dims) + SMOOTH) / (prob.sum(dims) + target.sum(dims) + SMOOTH)


def seg_loss(logits: Tensor, target: Tensor) -> Tensor:
    """BCE (one output channel) or CE (several) plus 1 - mean soft Dice over the foreground
    classes; ``target`` holds class indices (N, H, W)."""
    if logits.shape[1] == 1:
        t = (target == 1).float()[:, None]
        base = F.binary_cross_entropy_with_logits(logits, t)
        prob = torch.sigmoid(logits)
    else:
        base = F.cross_entropy(logits, target.long())
        prob = torch.softmax(logits, dim=1)[:, 1:]
        t = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].float()
    return base + (1 - soft_dice(prob, t).mean())
