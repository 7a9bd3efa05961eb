"""Resuming training from the end-of-epoch checkpoint ``<name>.last.pt``.

Why resume at all: a CPU training run takes tens of minutes and a laptop sleeps or a job is
killed. Why so strict about when: resuming with another learning rate, label map, network
or precision would silently mix two recipes in one model, so only the epoch count (what one
raises to continue a run) may differ; anything else starts fresh and says which setting
changed. A damaged checkpoint is a miss, not an error: the run starts over.

Shared by the segmentation trainer and ``spinedlr.classify3d``: both write the same
end-of-epoch payload (weights, optimiser, scaler, epoch, history) under their own format tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from torch import nn

from spinedlr.errors import InputError
from spinedlr.segment.checkpoint import FORMAT, read_checkpoint


def last_path(best_path: Path) -> Path:
    """Where the resumable end-of-epoch checkpoint lives, beside the best one."""
    return best_path.with_name(best_path.name.removesuffix(".pt") + ".last.pt")


def resume_point(
    last: Path, device: str | torch.device, console: Console, roi: str, fmt: str = FORMAT
) -> dict[str, Any] | None:
    """The checkpoint to resume from; a damaged one is a miss (said so), not an error."""
    if not last.exists():
        return None
    try:
        return read_checkpoint(last, device, fmt)
    except InputError as err:
        console.print(f"[yellow]{roi}:[/] {escape(str(err))}; starting fresh")
        return None


def resume_mismatch(checkpoint: dict[str, Any], cfg: BaseModel, meta: dict[str, Any]) -> list[str]:
    """The settings in which a last checkpoint differs from this run (empty = resumable).

    Everything that shapes training counts except the epoch count. Checkpoints written
    before precision was recorded were trained in fp32.
    """
    changed = [] if checkpoint.get("model_config") == cfg.model_dump(mode="json") else ["model_config"]
    for key, value in meta.items():
        old = checkpoint.get(key, "fp32" if key == "precision" else None)
        if key == "preset" and isinstance(old, dict):
            old, value = {**old, "epochs": None}, {**value, "epochs": None}
        if old != value:
            changed.append(key)
    return changed


def restore(
    checkpoint: dict[str, Any], model: nn.Module, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler
) -> int:
    """Load weights, optimiser and scaler state of a resumable checkpoint; returns the epoch
    to continue with (the one after the checkpoint's)."""
    model.load_state_dict(checkpoint["state_dict"])
    opt.load_state_dict(checkpoint["optimizer"])
    if checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])
    return int(checkpoint["epoch"]) + 1
