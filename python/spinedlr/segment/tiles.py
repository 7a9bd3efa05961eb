"""Zoomed training and prediction: slices on a canvas larger than the network, seen in tiles.

Why: the network input is ``img_size`` pixels square and a whole slice is shrunk to fit it. For
small structures in a large field of view that costs the detail that decides a border (the
medial paraspinal muscles of a 400 px axial slice are about 25 network pixels across at 128
px). With ``zoom`` > 1 each slice is fitted to a canvas of ``zoom x img_size`` instead; training
draws one ``img_size`` patch per slice (most of them near foreground, where the borders are),
and prediction slides an ``img_size`` window over the canvas with half-window steps, weighting
each window's logits by a Gaussian centred on it (as nnU-Net does) so that a window's edge,
where it sees least context, counts least. The network and its cost per training step do not
change; inference runs (2 x zoom - 1)^2 windows per slice at most.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from spinedlr.segment.model import UCTransNet

FOREGROUND_SHARE = 2 / 3  # patches centred near a foreground pixel; the rest anywhere


def canvas_size(img_size: int, zoom: float) -> int:
    """Side of the square canvas slices are fitted to (``img_size`` when not zoomed)."""
    return max(img_size, int(round(img_size * zoom)))


def sample_patches(x: Tensor, y: Tensor, size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """One ``size`` x ``size`` patch per sample of (N, C, H, W) images and (N, H, W) masks.

    A share ``FOREGROUND_SHARE`` is centred on a random foreground pixel, shifted by up to a
    quarter patch so the structure is not always in the middle; the rest lie anywhere, so the
    network also learns what empty tissue looks like.
    """
    span = x.shape[-1] - size
    if span <= 0:
        return x, y
    xs, ys = [], []
    for img, mask in zip(x, y):
        fg = torch.nonzero(mask)
        if len(fg) and float(torch.rand(1, generator=generator)) < FOREGROUND_SHARE:
            centre = fg[int(torch.randint(len(fg), (1,), generator=generator))]
            jitter = torch.randint(-size // 4, size // 4 + 1, (2,), generator=generator)
            r, c = (int(v) for v in (centre - size // 2 + jitter).clamp(0, span))
        else:
            r, c = (int(v) for v in torch.randint(0, span + 1, (2,), generator=generator))
        xs.append(img[:, r : r + size, c : c + size])
        ys.append(mask[r : r + size, c : c + size])
    return torch.stack(xs), torch.stack(ys)


def _window_starts(canvas: int, size: int) -> list[int]:
    """Evenly spaced starts from 0 to canvas - size, at most half a window apart (canvas > size)."""
    n = math.ceil((canvas - size) / (size / 2)) + 1
    return [round(i * (canvas - size) / (n - 1)) for i in range(n)]


def _gaussian(size: int) -> Tensor:
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * (size / 8) ** 2))
    w = g[:, None] * g[None, :]
    return (w / w.max()).clamp(min=1e-3)


def sliding_logits(model: UCTransNet, x: Tensor, channels_last: bool = False) -> Tensor:
    """Logits (N, K, H, W) for a canvas batch (N, C, H, W): the model itself when H equals its
    input size, else Gaussian-weighted overlapping windows."""
    size = model.config.img_size
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if x.shape[-1] == size:
        return model(x.contiguous(memory_format=fmt)).float()
    starts = _window_starts(x.shape[-1], size)
    weight = _gaussian(size).to(x.device)
    total = x.new_zeros((x.shape[0], model.config.n_classes, *x.shape[-2:]))
    total_w = x.new_zeros(x.shape[-2:])
    for r in starts:
        for c in starts:
            logits = model(x[..., r : r + size, c : c + size].contiguous(memory_format=fmt)).float()
            total[..., r : r + size, c : c + size] += logits * weight
            total_w[r : r + size, c : c + size] += weight
    return total / total_w
