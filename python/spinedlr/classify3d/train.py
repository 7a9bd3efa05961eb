"""Training the 3D classifier: training cohort only, epoch chosen on the validation AUC.

The trainer mirrors the segmentation one (``spinedlr.segment.train``) and shares its parts:
the poly learning-rate schedule, precision and device handling, checkpoint files and the
resume rules (``segment.resume``: resumable only with the same recipe; the epoch count may
grow). The recipe includes a fingerprint of the training and validation data (``data``), so a
changed split, image or label starts fresh instead of continuing a network trained on other
patients (the fusion stage keeps checkpoints at fixed paths across reruns). Steps: ``setup``
(recipe, hardware), ``build`` (network, weights, optimiser), ``resume``, then per epoch
``run_epoch``, ``validate``, ``maybe_save``.

Leakage: validation labels enter only ``validate``, whose result decides which epoch's
weights are kept, never the weights themselves; the end-of-epoch weights depend on the
training cohort and the seed alone (tests/test_classify3d.py permutes validation labels).

Determinism: the network is initialised from ``seed``; each epoch shuffles with a generator
seeded by (seed, epoch) and reseeds torch's global RNG (dropout) the same way, so a run
resumed from ``<name>.last.pt`` continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from sklearn.metrics import roc_auc_score
from torch import Tensor

from spinedlr.classify3d.network import Classifier3DNet, build_network, load_weights
from spinedlr.classify3d.settings import Classify3DSettings
from spinedlr.extract.backbones import RANDOM_INIT
from spinedlr.segment.checkpoint import read_checkpoint, save_checkpoint
from spinedlr.segment.precision import autocast, grad_scaler, resolve_precision
from spinedlr.segment.resume import last_path, restore, resume_mismatch, resume_point
from spinedlr.segment.runtime import configure_threads, resolve_device
from spinedlr.segment.schedule import epoch_lr

FORMAT = "spinedlr-classify3d/1"
NAME = "classify3d"


@dataclass
class FitResult:
    """What ``Trainer.fit`` leaves: the selected epoch, its validation AUC, per-epoch rows."""

    best_epoch: int
    best_auc: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def infer(net: Classifier3DNet, x: Tensor, batch: int, device: torch.device, precision: str,
          what: str = "logits") -> Tensor:
    """Logits (n,) or pooled features (n, d) in eval mode under ``inference_mode`` and the
    training precision; returned in fp32 on the CPU."""
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            xb = x[i : i + batch].to(device)
            with autocast(precision, device):
                out.append((net(xb) if what == "logits" else net.features(xb)).float().cpu())
    return torch.cat(out)


def train_step(net: Classifier3DNet, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               x: Tensor, y: Tensor, precision: str, device: torch.device) -> Tensor:
    """One optimiser step: forward under autocast, BCE from fp32 logits, scaled backward."""
    with autocast(precision, device):
        logits = net(x)
    loss = F.binary_cross_entropy_with_logits(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss


def data_fingerprint(*tensors: Tensor | None) -> str:
    """SHA-256 of the tensors' shapes, dtypes and values (None counted as absent): what a
    checkpoint was trained and selected on."""
    h = hashlib.sha256()
    for t in tensors:
        if t is None:
            h.update(b"none")
            continue
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
    return h.hexdigest()


class Trainer:
    """One training run; ``x``/``y`` the training cohort, ``vx``/``vy`` the validation one
    (None: no selection, the last epoch is kept). ``out_path``: best checkpoint (the
    resumable one beside it); None keeps everything in memory and cannot resume."""

    def __init__(self, settings: Classify3DSettings, x: Tensor, y: Tensor, vx: Tensor | None,
                 vy: Tensor | None, out_path: Path | None, console: Console) -> None:
        self.settings, self.x, self.y, self.vx, self.vy = settings, x, y, vx, vy
        self.out_path, self.console = out_path, console
        self.last = last_path(out_path) if out_path else None
        self.start, self.best_auc, self.best_epoch = 1, -math.inf, 0
        self.history: list[dict[str, float]] = []
        self.setup()

    def setup(self) -> None:
        """Resolve recipe, hardware and architecture; fails on bad settings before any work."""
        s = self.settings
        self.preset = s.resolved()
        self.device = resolve_device(s.device)
        self.precision = resolve_precision(s.precision, self.device)
        self.threads = configure_threads(s.num_threads)
        self.cfg = s.net_config(in_channels=self.x.shape[1])
        self.meta: dict[str, Any] = {
            "network": s.network, "preset": self.preset.model_dump(mode="json"), "seed": s.seed,
            "margin": s.margin, "precision": self.precision,
            "weights": str(s.weights) if s.weights else RANDOM_INIT,
            "data": data_fingerprint(self.x, self.y, self.vx, self.vy),
        }

    def build(self) -> None:
        """The network from the seed (then the weights file, if any), AdamW, the scaler."""
        self.net = build_network(self.cfg, self.settings.seed)
        if self.settings.weights is not None:
            self.meta["weights"] = load_weights(self.net, Path(self.settings.weights))
        self.net.to(self.device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.preset.lr, weight_decay=self.preset.weight_decay)
        self.scaler = grad_scaler(self.precision, self.device)
        self.best_state = copy.deepcopy(self.net.state_dict())

    def resume(self) -> None:
        """Continue from the last checkpoint when it was trained with this recipe."""
        ck = resume_point(self.last, self.device, self.console, NAME, FORMAT) if self.last else None
        if ck is None:
            return
        changed = resume_mismatch(ck, self.cfg, self.meta)
        if changed:
            self.console.print(f"[yellow]{NAME}:[/] {self.last} was trained with different "
                               f"{', '.join(changed)}; starting fresh")
            return
        self.start = restore(ck, self.net, self.opt, self.scaler)
        self.best_auc, self.best_epoch = float(ck["best_auc"]), int(ck["best_epoch"])
        self.history = list(ck["history"])
        best = read_checkpoint(self.out_path, self.device, FORMAT) if self.best_epoch else ck
        self.best_state = best["state_dict"]
        self.console.print(f"[cyan]{NAME}:[/] resuming after epoch {self.start - 1} from {self.last}")

    def run_epoch(self, epoch: int) -> float:
        """Train one epoch on the training cohort; returns the mean loss per sample."""
        p = self.preset
        for group in self.opt.param_groups:
            group["lr"] = epoch_lr("poly", p.lr, epoch, p.epochs)
        gen = torch.Generator().manual_seed(self.settings.seed * 1009 + epoch)
        torch.manual_seed(self.settings.seed + epoch)
        self.net.train()
        order = torch.randperm(len(self.x), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(order), p.batch_size):
            idx = order[i : i + p.batch_size]
            if len(idx) < 2 and len(order) > 1:
                continue  # BatchNorm (resnet3d) needs >1 sample; this one is seen next epoch
            xb, yb = self.x[idx].to(self.device), self.y[idx].to(self.device)
            loss = train_step(self.net, self.opt, self.scaler, xb, yb, self.precision, self.device)
            total, seen = total + float(loss.detach()) * len(idx), seen + len(idx)
        return total / max(seen, 1)

    def validate(self) -> tuple[float, float]:
        """Validation loss and AUC (NaN without a validation cohort)."""
        if self.vx is None or self.vy is None:
            return math.nan, math.nan
        logits = infer(self.net, self.vx, self.preset.batch_size, self.device, self.precision)
        loss = float(F.binary_cross_entropy_with_logits(logits, self.vy))
        return loss, float(roc_auc_score(self.vy.numpy(), logits.numpy()))

    def maybe_save(self, epoch: int, auc: float) -> bool:
        """Keep this epoch's weights if they are the best so far (every epoch without a
        validation cohort), write best and last checkpoints; True if improved."""
        improved = self.vx is None or auc > self.best_auc
        if improved:
            self.best_auc, self.best_epoch = auc, epoch
            self.best_state = copy.deepcopy(self.net.state_dict())
        if self.out_path is None:
            return improved
        if improved:
            save_checkpoint(self.out_path, self.net, self.meta, fmt=FORMAT, epoch=epoch, val_auc=auc,
                            history=self.history)
        save_checkpoint(self.last, self.net, self.meta, fmt=FORMAT, epoch=epoch, optimizer=self.opt.state_dict(),
                        best_auc=self.best_auc, best_epoch=self.best_epoch, history=self.history,
                        scaler=self.scaler.state_dict())
        return improved

    def fit(self, resume: bool = True) -> FitResult:
        """Build, maybe resume, train every remaining epoch; leaves the best weights loaded."""
        self.build()
        if resume:
            self.resume()
        p, t0 = self.preset, time.perf_counter()
        self.console.print(
            f"[bold]{NAME}[/]: {self.settings.network} {p.input_size}³, {len(self.x)} training / "
            f"{0 if self.vx is None else len(self.vx)} validation patients, weights {self.meta['weights']}, "
            f"device {self.device}, {self.precision}")
        for epoch in range(self.start, p.epochs + 1):
            loss = self.run_epoch(epoch)
            val_loss, auc = self.validate()
            self.history.append({"epoch": epoch, "train_loss": loss, "val_loss": val_loss, "val_auc": auc})
            improved = self.maybe_save(epoch, auc)
            self.console.print(f"{NAME} epoch {epoch:>3}/{p.epochs}  loss {loss:.4f}  val loss {val_loss:.4f}  "
                               f"val AUC {auc:.3f}" + ("  [green]best[/]" if improved else ""))
        self.net.load_state_dict(self.best_state)
        self.net.eval()
        return FitResult(self.best_epoch, self.best_auc, self.history, time.perf_counter() - t0)
