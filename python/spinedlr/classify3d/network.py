"""The 3D classifier: a MONAI backbone, a pooled feature vector, a one-logit head.

Why this split (``body`` -> pooled features -> ``head``): Zou et al. take their deep features
from the penultimate layer, "the average pooling layer that obtains a global image
representation by averaging the features of all patches", and initialise only the backbone
from a pretrained model while the task-specific head starts random. Keeping the backbone a
plain MONAI network under ``body.`` makes both direct: ``features`` is the pooled vector, and
a backbone state dict (MONAI key names, e.g. one ``spinedlr.extract.backbones`` loads) fits
``body`` as it is.

- ``vit``: ``monai.networks.nets.ViT`` without its classification head (no class token),
  mean over the patch tokens after the final LayerNorm, then ``Linear(hidden, 1)``.
- ``resnet3d``: ``monai.networks.nets.ResNet`` with basic blocks [1, 1, 1, 1] and the given
  widths, global average pooling (MONAI's), then ``Linear(widths[-1], 1)``.

One logit (binary outcome, BCE), as in the paper's binary classifier.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor, nn

from spinedlr.classify3d.settings import NetConfig
from spinedlr.errors import ConfigError
from spinedlr.extract.backbones import read_state_dict, state_mismatch

IDLE = ".norm_cross_attn."
"""MONAI's TransformerBlock always builds a cross-attention LayerNorm, used only with
``with_cross_attention=True`` (kept so old checkpoints load); it never sees a gradient here."""


class Fp32Conv3d(nn.Conv3d):
    """A Conv3d that always runs in fp32, also inside a bf16/fp16 autocast region.

    Why: the ViT's patch embedding is a 16³-kernel, stride-16 convolution, and oneDNN runs
    it in bfloat16 20-30x slower than in fp32 on this project's AVX512-BF16 CPU (paper
    preset, batch 2, one thread: 2.0-2.8 s vs 0.09-0.11 s), which made bf16 inference slower
    than fp32. In fp32 it is a small share of the network's arithmetic (about 2 of 28 G
    multiply-adds per 128³ input), so the transformer blocks keep the bf16 gain.
    Subclassing keeps the parameter names, so MONAI ViT weights load unchanged.
    """

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


def _body(cfg: NetConfig) -> nn.Module:
    if cfg.network == "vit":
        from monai.networks.nets import ViT

        vit = ViT(in_channels=cfg.in_channels, img_size=(cfg.input_size,) * 3, patch_size=cfg.patch_size,
                  hidden_size=cfg.hidden_size, mlp_dim=cfg.mlp_dim, num_layers=cfg.depth,
                  num_heads=cfg.heads, spatial_dims=3, classification=False)
        vit.patch_embedding.patch_embeddings.__class__ = Fp32Conv3d  # same module, fp32 forward
        return vit
    from monai.networks.nets.resnet import ResNet

    return ResNet(block="basic", layers=[1, 1, 1, 1], block_inplanes=list(cfg.resnet_widths), spatial_dims=3,
                  n_input_channels=cfg.in_channels, conv1_t_size=7, conv1_t_stride=2, feed_forward=False)


class Classifier3DNet(nn.Module):
    """Backbone + pooled features + binary head; ``config`` rebuilds it from a checkpoint."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.body = _body(config)
        self.feature_dim = config.hidden_size if config.network == "vit" else config.resnet_widths[-1]
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor) -> Tensor:
        """The pooled penultimate activation, (n, feature_dim)."""
        out = self.body(x)
        if isinstance(out, tuple):  # ViT: (tokens after the final norm, per-block states)
            return out[0].mean(dim=1)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """One logit per sample, (n,)."""
        return self.head(self.features(x))[:, 0]


def build_network(cfg: NetConfig, seed: int) -> Classifier3DNet:
    """The network initialised from ``seed`` inside a forked RNG (the caller's random state
    is neither used nor disturbed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Classifier3DNet(cfg)


def parameter_count(net: nn.Module) -> int:
    """Parameters the network trains: all but MONAI's idle cross-attention norms (``IDLE``),
    so the figure is the architecture's, comparable with a count by formula."""
    return sum(p.numel() for name, p in net.named_parameters() if IDLE not in name)


def load_weights(net: Classifier3DNet, path: Path) -> str:
    """Transfer initialisation from a local state dict (``weights_only=True``): the whole
    classifier (keys ``body.*`` and ``head.*``), or a backbone alone (MONAI key names, with or
    without ``body.``; a classification head in it is ignored), leaving the head as initialised.

    One ConfigError naming the file and what differs when it does not fit: a half-loaded
    network would train and give plausible nonsense. Returns what the report states.
    """
    state = {k.removeprefix("module."): v for k, v in read_state_dict(path).items()}
    whole = any(k.startswith("head.") for k in state)
    if not whole:
        state = {k.removeprefix("body."): v for k, v in state.items()
                 if not k.startswith(("classification_head.", "fc.", "cls_token"))}
    target = net if whole else net.body
    problem = state_mismatch(target.state_dict(), state)
    if problem:
        raise ConfigError(f"{path}: not weights of this {net.config.network} "
                          f"({'classifier' if whole else 'backbone'}): {problem}")
    target.load_state_dict(state, strict=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{path.name} (sha256 {digest}, {'whole classifier' if whole else 'backbone; head random'})"

