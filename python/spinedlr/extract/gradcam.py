"""Grad-CAM over the segmentation network's down4 block: where the deep features look.

Target: the network's ROI logit summed over the ROI pixels of the crop (all foreground classes
for a softmax head), so the map answers "which regions raise the network's belief that this is
the tissue". Weights = spatial mean of the gradient per channel; CAM = ReLU(sum_c w_c A_c),
upsampled to the crop and scaled to [0, 1].

The forward pass runs in the study's ``segment.precision`` (autocast; it needs gradients, so
no inference mode); the gradient is taken with respect to the activation only, so the
network's own parameters collect no gradients, and the map is computed in fp32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from spinedlr.outputs import write_atomic
from spinedlr.segment.precision import autocast, resolve_precision


def gradcam(
    model: torch.nn.Module, crop: np.ndarray, mask: np.ndarray, precision: str = "auto"
) -> np.ndarray:
    """Heatmap in [0, 1] with the crop's shape (size x size)."""
    layer = getattr(model, "gradcam_layer", None) or model.down4
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device)
    store: dict[str, torch.Tensor] = {}
    handle = layer.register_forward_hook(lambda _m, _i, output: store.__setitem__("act", output))
    try:
        x = torch.as_tensor(crop, dtype=torch.float32, device=device)[None, None]
        in_ch = getattr(getattr(model, "config", None), "in_channels", 1)
        if in_ch > 1:
            x = x.repeat(1, in_ch, 1, 1)
        with torch.enable_grad(), autocast(precision, device):
            logits = model(x).float()
        score_map = logits[:, 1:].sum(1) if logits.shape[1] > 1 else logits[:, 0]
        region = torch.as_tensor(mask, dtype=torch.float32, device=device)[None]
        if region.sum() == 0:
            region = torch.ones_like(region)
        (grad,) = torch.autograd.grad((score_map * region).sum(), store["act"])
    finally:
        handle.remove()
    act, grad = store["act"].detach().float(), grad.float()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=crop.shape, mode="bilinear", align_corners=False)[0, 0]
    cam = cam.cpu().numpy()
    top = cam.max()
    return (cam / top if top > 0 else cam).astype(np.float32)


def save_gradcam(path: Path, crop: np.ndarray, mask: np.ndarray, cam: np.ndarray, title: str) -> None:
    """Overlay PNG and the arrays (.npz: crop, mask, cam) next to it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path.with_suffix(".npz"), lambda tmp: np.savez_compressed(tmp, crop=crop, mask=mask, cam=cam))
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.imshow(crop, cmap="gray")
    ax.imshow(cam, cmap="jet", alpha=0.4, vmin=0, vmax=1)
    ax.contour(mask, levels=[0.5], colors="white", linewidths=0.8)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    write_atomic(path, fig.savefig)
    plt.close(fig)
