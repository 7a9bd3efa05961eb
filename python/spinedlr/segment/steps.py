"""One optimiser step and one validation pass: the work inside a training epoch.

Why a module of its own: these two are the whole cost of training, and the throughput
benchmark times exactly them. They import only torch, pydantic and this package's network,
loss and precision modules, so ``bench/segment_throughput.py`` runs them on a GPU machine
that has torch but not the imaging stack (polars, SimpleITK, scipy) the trainer needs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from spinedlr.segment.losses import seg_loss
from spinedlr.segment.model import UCTransNet
from spinedlr.segment.precision import autocast
from spinedlr.segment.tiles import sliding_logits
from spinedlr.segment.train_metrics import hard_dice, mean_dice, predict_classes


def train_step(
    model: UCTransNet, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, x: Tensor, y: Tensor,
    precision: str, device: torch.device,
) -> Tensor:
    """One optimiser step: the forward pass under autocast (see segment.precision), the loss
    from fp32 logits, fp16 gradients scaled (the scaler is a pass-through otherwise)."""
    with autocast(precision, device):
        logits = model(x)
    loss = seg_loss(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss


def evaluate_batches(
    model: UCTransNet, x: Tensor, y: Tensor, batch: int, device: torch.device, channels_last: bool,
    precision: str = "fp32",
) -> tuple[float, float]:
    """Validation loss and mean hard Dice over the whole set (voxel counts pooled); zoomed
    canvases are predicted window by window, as at prediction time, in the training precision
    (logits, loss and Dice in fp32)."""
    model.eval()
    n_fg = max(1, model.config.n_classes - 1)
    inter = psum = tsum = torch.zeros(n_fg, dtype=torch.long)
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            xb, yb = x[i : i + batch].to(device), y[i : i + batch].to(device)
            with autocast(precision, device):
                logits = sliding_logits(model, xb, channels_last)
            total += float(seg_loss(logits, yb)) * len(xb)
            a, b, c = hard_dice(predict_classes(logits), yb, n_fg)
            inter, psum, tsum = inter + a.cpu(), psum + b.cpu(), tsum + c.cpu()
    return total / len(x), mean_dice(inter, psum, tsum)
