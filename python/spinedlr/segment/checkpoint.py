"""Checkpoints: plain dicts of tensors and primitives, so they load with ``weights_only=True``.

Shared by every network the toolkit trains (UCTransNet here, the 3D classifier of
``spinedlr.classify3d``): each passes its own ``fmt`` tag, so one network's file is never
mistaken for another's.

Why not pickle the model object: a pickled module breaks when the code moves and can run
arbitrary code on load. A checkpoint here carries the state dict plus everything needed to
rebuild and use the network (model config, ROI, label map, slice axis, normalisation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from torch import nn

from spinedlr.errors import InputError
from spinedlr.outputs import write_atomic
from spinedlr.segment.model import ModelConfig, UCTransNet

FORMAT = "spinedlr-uctransnet/1"


def save_checkpoint(
    path: Path, model: nn.Module, meta: dict[str, Any], *, fmt: str = FORMAT, **extra: Any
) -> None:
    """Write atomically (temp file, then rename): an interrupted save never leaves a bad file.

    ``model.config`` (a pydantic model) is recorded as ``model_config``, to rebuild it.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": fmt,
        "state_dict": state,
        "model_config": model.config.model_dump(mode="json"),
        **meta,
        **extra,
    }
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def read_checkpoint(
    path: Path, map_location: str | torch.device = "cpu", fmt: str = FORMAT
) -> dict[str, Any]:
    """The checkpoint's dict; InputError when missing, unreadable or of another ``fmt``."""
    if not Path(path).exists():
        raise InputError(f"model file not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise InputError(f"cannot read model {path}: {err.__class__.__name__}: {err}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise InputError(f"{path} is not a spinedlr checkpoint of format {fmt}")
    return ckpt


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[UCTransNet, dict[str, Any]]:
    """Rebuild the network from a checkpoint, in eval mode; returns (model, meta).

    ``meta`` holds: model_config, roi, labels ({value: name}), label_values (class i+1 <-> value
    i), slice_axis, normalisation, preset, epoch, val_dice.
    """
    ckpt = read_checkpoint(Path(path), device)
    model = UCTransNet(ModelConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.to(device).eval()
    meta = {k: v for k, v in ckpt.items() if k not in ("state_dict", "optimizer", "format")}
    return model, meta
