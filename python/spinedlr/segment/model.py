"""UCTransNet (Wang et al., AAAI 2022) in PyTorch, multi-class as well as binary.

A U-Net whose plain skip connections are replaced by
- the Channel-wise Cross-fusion Transformer (CCT): the four encoder scales are cut into patch
  tokens (patch sizes 16, 8, 4, 2 so every scale gives the same token grid), each scale's
  channels form the queries, the channels of *all* scales concatenated (KV_size) form keys and
  values, and attention runs across channels, not tokens; and
- Channel-wise Cross Attention (CCA) in every decoder stage, which gates the (transformer-fused)
  skip channels with the up-sampled decoder features.

Written from the paper and the layout of the public reference code (McGregorWwww/UCTransNet) so
that the parameter count at the reference configuration matches (66.43 M with base_channel 64,
img_size 224, one input channel, one class). Differences, each on purpose:
- the network returns logits (no final sigmoid): BCE-with-logits is numerically safer, and
  prediction applies sigmoid/softmax itself;
- ``n_classes > 1`` is a softmax multi-class head (the reference only trained binary masks).

Deep features and Grad-CAM use the encoder's fourth down-sampling block: ``features_down4``
returns its activation, and ``gradcam_layer`` is that block (a module to hook).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn


class ModelConfig(BaseModel):
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_channels: int = Field(default=1, ge=1)
    n_classes: int = Field(default=1, ge=1, description="1 = binary (sigmoid); >1 = softmax incl. background.")
    base_channel: int = Field(default=64, ge=4)
    img_size: int = Field(default=224, ge=32)
    patch_sizes: tuple[int, int, int, int] = (16, 8, 4, 2)
    num_heads: int = 4
    num_layers: int = 4
    expand_ratio: int = 4
    embeddings_dropout: float = 0.1
    attention_dropout: float = 0.1
    dropout: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        for level, p in enumerate(self.patch_sizes):
            size = self.img_size // 2**level
            if size % p or self.img_size % 2**level:
                raise ValueError(
                    f"img_size {self.img_size} must be divisible by {2**level * p} "
                    f"(patch size {p} at scale 1/{2**level})"
                )
        grids = {self.img_size // 2**i // p for i, p in enumerate(self.patch_sizes)}
        if len(grids) != 1:
            raise ValueError("patch sizes must give the same token grid at every scale")
        return self

    @property
    def channel_num(self) -> list[int]:
        b = self.base_channel
        return [b, 2 * b, 4 * b, 8 * b]

    @property
    def kv_size(self) -> int:
        return sum(self.channel_num)


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _n_conv(c_in: int, c_out: int, n: int = 2) -> nn.Sequential:
    layers = [_conv_bn_relu(c_in, c_out)] + [_conv_bn_relu(c_out, c_out) for _ in range(n - 1)]
    return nn.Sequential(*layers)


class DownBlock(nn.Module):
    """Max-pool by 2, then two conv3x3-BN-ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.convs = _n_conv(c_in, c_out, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.convs(self.pool(x))


class ChannelEmbedding(nn.Module):
    """Patch tokens of one scale (conv with kernel = stride = patch size) + position embedding."""

    def __init__(self, channels: int, patch: int, size: int, dropout: float):
        super().__init__()
        n_patches = (size // patch) ** 2
        self.patch_embeddings = nn.Conv2d(channels, channels, kernel_size=patch, stride=patch)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n_patches, channels))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_embeddings(x).flatten(2).transpose(1, 2)  # B, N, C
        return self.dropout(x + self.position_embeddings)


class Reconstruct(nn.Module):
    """Tokens back to a feature map at the scale's resolution (upsample, conv1x1, BN, ReLU)."""

    def __init__(self, channels: int, scale: int):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(channels, channels, kernel_size=1)
        self.norm = nn.BatchNorm2d(channels)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        side = math.isqrt(n)
        x = x.transpose(1, 2).reshape(b, c, side, side)
        x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.activation(self.norm(self.conv(x)))


class ChannelCrossAttention(nn.Module):
    """Multi-head attention across channels: scale i's channels query all scales' channels.

    Scores are (C_i x KV_size) per head, instance-normalised before the softmax as in the
    reference; heads are averaged (not concatenated), then projected per scale.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch, kv, h = cfg.channel_num, cfg.kv_size, cfg.num_heads
        self.kv_size = kv
        self.query = nn.ModuleList(
            nn.ModuleList(nn.Linear(c, c, bias=False) for _ in range(h)) for c in ch
        )
        self.key = nn.ModuleList(nn.Linear(kv, kv, bias=False) for _ in range(h))
        self.value = nn.ModuleList(nn.Linear(kv, kv, bias=False) for _ in range(h))
        self.psi = nn.InstanceNorm2d(h)
        self.out = nn.ModuleList(nn.Linear(c, c, bias=False) for c in ch)
        self.attn_dropout = nn.Dropout(cfg.attention_dropout)
        self.proj_dropout = nn.Dropout(cfg.attention_dropout)

    def forward(self, embs: list[Tensor], emb_all: Tensor) -> list[Tensor]:
        k = torch.stack([lin(emb_all) for lin in self.key], dim=1)  # B, H, N, KV
        v = torch.stack([lin(emb_all) for lin in self.value], dim=1).transpose(-1, -2)  # B,H,KV,N
        outs = []
        for emb, queries, out in zip(embs, self.query, self.out):
            q = torch.stack([lin(emb) for lin in queries], dim=1).transpose(-1, -2)  # B,H,C,N
            scores = torch.matmul(q, k) / math.sqrt(self.kv_size)  # B, H, C, KV
            probs = self.attn_dropout(torch.softmax(self.psi(scores), dim=3))
            ctx = torch.matmul(probs, v).mean(dim=1).transpose(1, 2)  # B, N, C
            outs.append(self.proj_dropout(out(ctx)))
        return outs


class Mlp(nn.Module):
    def __init__(self, channels: int, hidden: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.fc2(self.dropout(self.act(self.fc1(x)))))


class CCTBlock(nn.Module):
    """One transformer layer: pre-norm channel cross-attention and per-scale MLP, residuals."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch = cfg.channel_num
        self.attn_norms = nn.ModuleList(nn.LayerNorm(c, eps=1e-6) for c in ch)
        self.attn_norm_all = nn.LayerNorm(cfg.kv_size, eps=1e-6)
        self.attn = ChannelCrossAttention(cfg)
        self.ffn_norms = nn.ModuleList(nn.LayerNorm(c, eps=1e-6) for c in ch)
        self.ffns = nn.ModuleList(Mlp(c, c * cfg.expand_ratio, cfg.dropout) for c in ch)

    def forward(self, embs: list[Tensor]) -> list[Tensor]:
        emb_all = self.attn_norm_all(torch.cat(embs, dim=2))
        attended = self.attn([n(e) for n, e in zip(self.attn_norms, embs)], emb_all)
        embs = [e + a for e, a in zip(embs, attended)]
        return [e + f(n(e)) for e, f, n in zip(embs, self.ffns, self.ffn_norms)]


class ChannelTransformer(nn.Module):
    """CCT: embed the four skips, run the layers, reconstruct, add back to the skips."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch, ps = cfg.channel_num, cfg.patch_sizes
        self.embeddings = nn.ModuleList(
            ChannelEmbedding(c, p, cfg.img_size // 2**i, cfg.embeddings_dropout)
            for i, (c, p) in enumerate(zip(ch, ps))
        )
        self.layers = nn.ModuleList(CCTBlock(cfg) for _ in range(cfg.num_layers))
        self.encoder_norms = nn.ModuleList(nn.LayerNorm(c, eps=1e-6) for c in ch)
        self.reconstruct = nn.ModuleList(Reconstruct(c, p) for c, p in zip(ch, ps))

    def forward(self, skips: list[Tensor]) -> list[Tensor]:
        embs = [emb(s) for emb, s in zip(self.embeddings, skips)]
        for layer in self.layers:
            embs = layer(embs)
        embs = [n(e) for n, e in zip(self.encoder_norms, embs)]
        return [rec(e) + s for rec, e, s in zip(self.reconstruct, embs, skips)]


class CCA(nn.Module):
    """Channel-wise Cross Attention: gate skip channels by pooled skip + decoder descriptors."""

    def __init__(self, f_g: int, f_x: int):
        super().__init__()
        self.mlp_x = nn.Linear(f_x, f_x)
        self.mlp_g = nn.Linear(f_g, f_x)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, g: Tensor, x: Tensor) -> Tensor:
        att = (self.mlp_x(x.mean(dim=(2, 3))) + self.mlp_g(g.mean(dim=(2, 3)))) / 2.0
        return self.relu(x * torch.sigmoid(att)[:, :, None, None])


class UpBlockAttention(nn.Module):
    """Upsample x2 (nearest), CCA-gate the skip, concatenate, two conv3x3-BN-ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.coatt = CCA(f_g=c_in // 2, f_x=c_in // 2)
        self.convs = _n_conv(c_in, c_out, 2)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.convs(torch.cat([self.coatt(g=up, x=skip), up], dim=1))


class UCTransNet(nn.Module):
    """UCTransNet returning logits of shape (B, n_classes, H, W)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        b = cfg.base_channel
        self.inc = _conv_bn_relu(cfg.in_channels, b)
        self.down1 = DownBlock(b, 2 * b)
        self.down2 = DownBlock(2 * b, 4 * b)
        self.down3 = DownBlock(4 * b, 8 * b)
        self.down4 = DownBlock(8 * b, 8 * b)
        self.mtc = ChannelTransformer(cfg)
        self.up4 = UpBlockAttention(16 * b, 4 * b)
        self.up3 = UpBlockAttention(8 * b, 2 * b)
        self.up2 = UpBlockAttention(4 * b, b)
        self.up1 = UpBlockAttention(2 * b, b)
        self.outc = nn.Conv2d(b, cfg.n_classes, kernel_size=1)

    def _encode(self, x: Tensor) -> list[Tensor]:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        return [x1, x2, x3, x4, self.down4(x4)]

    def forward(self, x: Tensor) -> Tensor:
        x1, x2, x3, x4, x5 = self._encode(x)
        x1, x2, x3, x4 = self.mtc([x1, x2, x3, x4])
        x = self.up4(x5, x4)
        x = self.up3(x, x3)
        x = self.up2(x, x2)
        x = self.up1(x, x1)
        return self.outc(x)

    def features_down4(self, x: Tensor) -> Tensor:
        """Activation of the fourth down-sampling block, (B, 8*base_channel, H/16, W/16).

        This is the study's deep-feature layer (global-average-pooled to 512 values at the
        reference configuration). Only the encoder runs, so it is cheap.
        """
        return self._encode(x)[4]

    @property
    def gradcam_layer(self) -> nn.Module:
        """Module whose output is ``features_down4``: register Grad-CAM hooks here."""
        return self.down4


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (the figure papers quote)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
