"""Pretrained backbones for deep features, built from MONAI's pure-PyTorch networks.

Why MONAI and not torchvision: torchvision's compiled operators do not load with this
project's CPU build of torch, and MONAI's networks need nothing but torch. Every backbone
returns its penultimate, pooled activation (the vector a classifier head would read), with
its length known before anything runs, so feature tables can be laid out up front.

What each name builds (all with ``feed_forward=False`` / no classification head):

- ``resnet50_2d``: MONAI ``ResNet`` with bottleneck blocks [3, 4, 6, 3], a 7x7 stride-2 stem
  and bias-free 1x1 shortcuts: the same layers and parameter names as torchvision's
  ``resnet50`` (v1.5: stride on the 3x3 conv), so its ImageNet state dict loads. 2048 features.
- ``resnext50_32x4d_2d``: MONAI has no plain ResNeXt (its ``SEResNeXt50`` adds
  squeeze-excitation modules, a different network, and its ``ResNetBottleneck`` cannot group
  convolutions). This is MONAI's ``ResNet`` with a bottleneck subclass whose 3x3 convolution
  has 32 groups and width ``planes * 2``: torchvision's ``resnext50_32x4d`` layer for layer,
  parameter names included. 2048 features.
- ``resnet18_3d`` / ``resnet50_3d``: MONAI's 3D ResNets (the MedicalNet layout; MedicalNet
  checkpoints load once their ``module.`` prefix is stripped). 512 / 2048 features.
- ``vit_b16_2d`` / ``vit_b16_3d``: MONAI ``ViT`` (patch 16, hidden 768, 12 layers, 12 heads,
  MLP 3072), the mean of the final tokens. Weights must be in MONAI's own key names.

Weights come only from a local state-dict file read with ``torch.load(weights_only=True)``
(tensors, never pickled code). Without one the network is randomly initialised from the
study's seed and the result says ``none (random init)``, for the report to state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from spinedlr.errors import ConfigError

RANDOM_INIT = "none (random init)"
"""What ``Backbone.weights`` says when no weights file was given."""


def _resnext_block() -> type[nn.Module]:
    """MONAI's bottleneck with grouped 3x3 convolutions (32 groups of width 4 at planes=64)."""
    from monai.networks.layers.factories import Conv
    from monai.networks.layers.utils import get_act_layer, get_norm_layer
    from monai.networks.nets.resnet import ResNetBottleneck

    class ResNeXtBottleneck(ResNetBottleneck):
        groups, base_width = 32, 4

        def __init__(self, in_planes: int, planes: int, spatial_dims: int = 3, stride: int = 1,
                     downsample: nn.Module | None = None, act=("relu", {"inplace": True}),
                     norm="batch") -> None:
            super().__init__(in_planes, planes, spatial_dims, stride, downsample, act, norm)
            width = planes * self.base_width // 64 * self.groups
            conv = Conv[Conv.CONV, spatial_dims]
            self.conv1 = conv(in_planes, width, kernel_size=1, bias=False)
            self.bn1 = get_norm_layer(name=norm, spatial_dims=spatial_dims, channels=width)
            self.conv2 = conv(width, width, kernel_size=3, stride=stride, padding=1,
                              groups=self.groups, bias=False)
            self.bn2 = get_norm_layer(name=norm, spatial_dims=spatial_dims, channels=width)
            self.conv3 = conv(width, planes * self.expansion, kernel_size=1, bias=False)
            self.act = get_act_layer(name=act)

    return ResNeXtBottleneck


def _resnet(block: str | Callable[[], type[nn.Module]], layers: list[int], dims: int,
            in_channels: int) -> nn.Module:
    """A MONAI ResNet laid out like torchvision's (stride-2 stem, bias-free shortcuts)."""
    from monai.networks.nets.resnet import ResNet

    return ResNet(block=block if isinstance(block, str) else block(), layers=layers,
                  block_inplanes=[64, 128, 256, 512], spatial_dims=dims,
                  n_input_channels=in_channels, conv1_t_size=7, conv1_t_stride=2,
                  bias_downsample=False, feed_forward=False)


def _vit(dims: int, in_channels: int, size: int) -> nn.Module:
    from monai.networks.nets import ViT

    return ViT(in_channels=in_channels, img_size=(size,) * dims, patch_size=16, hidden_size=768,
               mlp_dim=3072, num_layers=12, num_heads=12, spatial_dims=dims, classification=False)


@dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone: how to build it, its dimensionality and feature length."""

    name: str
    spatial_dims: int
    feature_dim: int
    build: Callable[[int, int], nn.Module]  # (in_channels, input size) -> network
    head_prefixes: tuple[str, ...]  # classification-head keys a checkpoint may carry
    min_size: int  # smallest input side the network accepts


BACKBONES: dict[str, BackboneSpec] = {
    s.name: s for s in (
        BackboneSpec("resnet50_2d", 2, 2048,
                     lambda c, _: _resnet("bottleneck", [3, 4, 6, 3], 2, c), ("fc.",), 32),
        BackboneSpec("resnext50_32x4d_2d", 2, 2048,
                     lambda c, _: _resnet(_resnext_block, [3, 4, 6, 3], 2, c), ("fc.",), 32),
        BackboneSpec("resnet18_3d", 3, 512,
                     lambda c, _: _resnet("basic", [2, 2, 2, 2], 3, c), ("fc.", "conv_seg."), 16),
        BackboneSpec("resnet50_3d", 3, 2048,
                     lambda c, _: _resnet("bottleneck", [3, 4, 6, 3], 3, c),
                     ("fc.", "conv_seg."), 16),
        BackboneSpec("vit_b16_2d", 2, 768, lambda c, s: _vit(2, c, s),
                     ("classification_head.",), 16),
        BackboneSpec("vit_b16_3d", 3, 768, lambda c, s: _vit(3, c, s),
                     ("classification_head.",), 16),
    )
}


def backbone_spec(name: str) -> BackboneSpec:
    """The registered backbone, or one ConfigError listing the registered names."""
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; registered: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a local state-dict file, read with ``weights_only=True`` (never pickled
    code), also when wrapped in {'state_dict': ...} or {'model': ...} (how training scripts
    often save them); one ConfigError naming the file when it is missing or is not one.
    Shared with ``spinedlr.classify3d``'s transfer initialisation."""
    if not path.is_file():
        raise ConfigError(f"{path}: weights file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and unpickler-policy errors all mean "unusable file"
        raise ConfigError(f"{path}: cannot read as PyTorch weights "
                          f"({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise ConfigError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    return obj


def to_monai_keys(state: dict[str, torch.Tensor], spec: BackboneSpec) -> dict[str, torch.Tensor]:
    """Map a checkpoint's parameter names onto the MONAI network's.

    torchvision's ResNet50/ResNeXt50 already use MONAI ResNet's names (conv1, bn1,
    layer1.0.conv2, layer1.0.downsample.0, ...), so the mapping strips the ``module.``
    prefix of DataParallel/MedicalNet checkpoints and drops the classification head, which
    the feature network does not have. Any other difference stays and is reported on loading.
    """
    out = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if not key.startswith(spec.head_prefixes):
            out[key] = value
    return out


def state_mismatch(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> str:
    """What keeps ``state`` from loading into ``own``: missing, unexpected, wrong-shape keys."""
    parts = []
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
              for k, v in own.items() if k in state and state[k].shape != v.shape]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if keys:
            parts.append(f"{len(keys)} {what} (e.g. {', '.join(keys[:2])})")
    return "; ".join(parts)


def load_weights(model: nn.Module, path: Path, spec: BackboneSpec) -> str:
    """Load a local state dict into ``model``; one ConfigError naming the file if it does not
    fit, listing what differs (a silently half-loaded network would give plausible nonsense)."""
    state = to_monai_keys(read_state_dict(path), spec)
    problem = state_mismatch(model.state_dict(), state)
    if problem:
        raise ConfigError(f"{path}: not weights of backbone {spec.name}: {problem}")
    model.load_state_dict(state, strict=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{path.name} (sha256 {digest})"


@dataclass
class Backbone:
    """A ready network: ``features(x)`` gives (n, feature_dim); ``weights`` says where from."""

    spec: BackboneSpec
    model: nn.Module
    in_channels: int
    input_size: int
    weights: str

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    def features(self, x: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
        """Penultimate pooled activation of a prepared batch (n, C, *size) -> (n, feature_dim),
        fp32, computed in ``precision`` (the study's ``segment.precision``; see its README)."""
        from spinedlr.segment.precision import autocast, resolve_precision

        device = torch.device("cpu")
        with torch.inference_mode(), autocast(resolve_precision(precision, device), device):
            out = self.model(x.float())
            if isinstance(out, tuple):  # ViT: (tokens, hidden states) -> mean token
                out = out[0].mean(dim=1)
        return out.float()


def build_backbone(name: str, in_channels: int = 3, input_size: int = 224,
                   weights: Path | None = None, seed: int = 0) -> Backbone:
    """The named backbone in eval mode, from ``weights`` or randomly initialised from ``seed``.

    The random initialisation runs inside a forked RNG, so building a backbone neither
    depends on nor disturbs the caller's global torch random state.
    """
    spec = backbone_spec(name)
    if input_size < spec.min_size:
        raise ConfigError(f"backbone {name}: input size {input_size} is below its minimum "
                          f"{spec.min_size}")
    if spec.name.startswith("vit") and input_size % 16:
        raise ConfigError(f"backbone {name}: input size {input_size} must be a multiple of "
                          "the patch size 16")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.build(in_channels, input_size)
    note = RANDOM_INIT if weights is None else load_weights(model, Path(weights), spec)
    return Backbone(spec, model.eval(), in_channels, input_size, note)
