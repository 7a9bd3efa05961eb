"""Training: CE/BCE + soft Dice, Adam, best-on-validation checkpoint, resumable, seeded.

Determinism: the model is initialised from ``seed``; each epoch draws its shuffling and
augmentation from a generator seeded by (seed, epoch) and reseeds torch's global RNG (dropout)
the same way. An interrupted run resumed from ``<name>.last.pt`` therefore continues exactly
as the uninterrupted run would have.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor

from spinedlr.errors import InputError
from spinedlr.segment.checkpoint import read_checkpoint, save_checkpoint
from spinedlr.segment.data import NORMALISATION, Case, augment, training_slices
from spinedlr.segment.model import ModelConfig, UCTransNet
from spinedlr.segment.precision import autocast, grad_scaler, resolve_precision
from spinedlr.segment.settings import NumberByPosition, SegmentSettings
from spinedlr.segment.tiles import canvas_size, sample_patches, sliding_logits


@dataclass
class TrainResult:
    best_path: Path
    best_epoch: int
    best_dice: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    train_images: int = 0


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def configure_threads(n: int) -> int:
    """Apply SegmentSettings.num_threads (0 = auto, see there); returns the count in use."""
    if n == 0 and os.getloadavg()[0] > (os.cpu_count() or 1):
        n = 1
    if n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def last_path(best_path: Path) -> Path:
    """Where the resumable end-of-epoch checkpoint lives, beside the best one."""
    return best_path.with_name(best_path.name.removesuffix(".pt") + ".last.pt")


def _resume_point(last: Path, device, console, roi: str) -> dict[str, Any] | None:
    """The checkpoint to resume from; a damaged one is a miss (said so), not an error."""
    if not last.exists():
        return None
    try:
        return read_checkpoint(last, device)
    except InputError as err:
        console.print(f"[yellow]{roi}:[/] {escape(str(err))}; starting fresh")
        return None


def resume_mismatch(checkpoint: dict[str, Any], cfg: ModelConfig, meta: dict[str, Any]) -> list[str]:
    """The settings in which a last checkpoint differs from this run (empty = resumable).

    Everything that shapes training counts except the epoch count, which is what one raises
    to continue a run; resuming with another learning rate, label map or precision would
    silently mix two recipes in one model. Checkpoints written before precision was recorded
    were trained in fp32.
    """
    changed = [] if checkpoint.get("model_config") == cfg.model_dump(mode="json") else ["model_config"]
    for key, value in meta.items():
        old = checkpoint.get(key, "fp32" if key == "precision" else None)
        if key == "preset" and isinstance(old, dict):
            old, value = {**old, "epochs": None}, {**value, "epochs": None}
        if old != value:
            changed.append(key)
    return changed


def poly_lr(base: float, progress: float) -> float:
    """The poly schedule: ``base`` x (1 - progress)^0.9, progress in [0, 1]."""
    return base * max(0.0, 1.0 - progress) ** 0.9


def one_class(cases: list[Case]) -> list[Case]:
    """The cases with every label merged into class 1 (``number_by_position`` training)."""
    return [replace(c, mask=(c.mask > 0).astype("uint8")) for c in cases]


def seg_loss(logits: Tensor, target: Tensor) -> Tensor:
    """BCE (one output channel) or CE (several) plus soft Dice over the foreground classes."""
    if logits.shape[1] == 1:
        t = (target == 1).float()[:, None]
        base = F.binary_cross_entropy_with_logits(logits, t)
        prob = torch.sigmoid(logits)
    else:
        base = F.cross_entropy(logits, target.long())
        prob = torch.softmax(logits, dim=1)[:, 1:]
        t = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].float()
    dims = (0, 2, 3)
    dice = (2 * (prob * t).sum(dims) + 1.0) / (prob.sum(dims) + t.sum(dims) + 1.0)
    return base + (1 - dice.mean())


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


def predict_classes(logits: Tensor) -> Tensor:
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).to(torch.uint8)
    return logits.argmax(dim=1).to(torch.uint8)


def hard_dice(pred: Tensor, target: Tensor, n_fg: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per-class intersection, predicted and true voxel counts (classes 1..n_fg)."""
    cls = torch.arange(1, n_fg + 1, device=pred.device)[:, None]
    p, t = pred.flatten()[None] == cls, target.flatten()[None] == cls
    return (p & t).sum(1), p.sum(1), t.sum(1)


def mean_dice(inter: Tensor, psum: Tensor, tsum: Tensor) -> float:
    present = (psum + tsum) > 0
    if not present.any():
        return float("nan")
    d = 2 * inter[present].double() / (psum[present] + tsum[present]).double()
    return float(d.mean())


def _split(
    cases: list[Case],
    axis: int,
    size: int,
    s: SegmentSettings,
    seed: int,
    val_cases: list[Case] | None,
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor], str]:
    gen = torch.Generator().manual_seed(seed)

    def stack(cs: list[Case]) -> tuple[Tensor, Tensor]:
        parts = [training_slices(c, axis, size, s.background_ratio, gen) for c in cs]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    if val_cases:
        return stack(cases), stack(val_cases), f"{len(val_cases)} given validation case(s)"
    if len(cases) >= 5:
        order = torch.randperm(len(cases), generator=gen).tolist()
        n_val = max(1, round(s.val_fraction * len(cases)))
        val = [cases[i] for i in order[:n_val]]
        train = [cases[i] for i in order[n_val:]]
        return stack(train), stack(val), f"{n_val} held-out patient(s)"
    tx, ty, vx, vy = [], [], [], []
    for c in cases:
        x, y = training_slices(c, axis, size, s.background_ratio, gen)
        n_val = max(1, math.ceil(s.val_fraction * len(x)))
        if len(x) - n_val < 1:
            raise InputError(
                f"patient {c.case_id}: {c.mask_path} has too few labelled slices to hold out "
                "validation slices"
            )
        tx.append(x[:-n_val]), ty.append(y[:-n_val]), vx.append(x[-n_val:]), vy.append(y[-n_val:])
    how = f"last {s.val_fraction:.0%} of each case's slices"
    return (torch.cat(tx), torch.cat(ty)), (torch.cat(vx), torch.cat(vy)), how


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


def train_model(
    cases: list[Case],
    *,
    roi: str,
    labels: dict[int, str],
    slice_axis: int,
    settings: SegmentSettings,
    seed: int,
    out_path: Path,
    val_cases: list[Case] | None = None,
    resume: bool = True,
    time_budget_s: float | None = None,
    console: Console | None = None,
    number_by_position: NumberByPosition | None = None,
) -> TrainResult:
    """Train UCTransNet on the cases' masks; write the best (``out_path``) and last checkpoints.

    ``labels`` maps mask values to names; class i+1 of the network is the i-th value in
    ascending order (one label = binary sigmoid head). With ``number_by_position`` all labels
    are learnt as one class and numbered at prediction time (see ``NumberByPosition``).
    ``time_budget_s`` stops after the epoch that crosses the budget (benchmarks: "within 30
    minutes of training"); a poly schedule then runs its course over whichever of epochs and
    budget ends first.
    """
    console = console or Console(stderr=True)
    preset = settings.resolved()
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    threads = configure_threads(settings.num_threads)
    values = sorted(labels)
    if number_by_position is not None:
        cases, val_cases = one_class(cases), one_class(val_cases or [])
    cfg = ModelConfig(
        in_channels=cases[0].image.shape[0],
        n_classes=1 if len(values) == 1 or number_by_position else len(values) + 1,
        base_channel=preset.base_channel,
        img_size=preset.img_size,
    )
    for c in [*cases, *(val_cases or [])]:
        if c.image.shape[0] != cfg.in_channels:
            raise InputError(f"patient {c.case_id}: {c.image_paths} has a different channel count")
    canvas = canvas_size(preset.img_size, preset.zoom)
    (tx, ty), (vx, vy), how = _split(cases, slice_axis, canvas, settings, seed, val_cases)
    meta: dict[str, Any] = {
        "roi": roi,
        "labels": {int(k): str(v) for k, v in labels.items()},
        "label_values": values,
        "slice_axis": slice_axis,
        "normalisation": dict(NORMALISATION),
        "preset": preset.model_dump(),
        "seed": seed,
        "number_by_position": number_by_position.model_dump() if number_by_position else None,
        "precision": precision,
    }

    torch.manual_seed(seed)
    model = UCTransNet(cfg).to(device)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=preset.lr, weight_decay=preset.weight_decay)
    scaler = grad_scaler(precision, device)
    start, best_dice, best_epoch, history = 1, -1.0, 0, []
    last = last_path(out_path)
    ck = _resume_point(last, device, console, roi) if resume else None
    if ck is not None:
        changed = resume_mismatch(ck, cfg, meta)
        if not changed:
            model.load_state_dict(ck["state_dict"])
            opt.load_state_dict(ck["optimizer"])
            if ck.get("scaler"):
                scaler.load_state_dict(ck["scaler"])
            start = int(ck["epoch"]) + 1
            best_dice, best_epoch = float(ck["best_dice"]), int(ck["best_epoch"])
            history = list(ck["history"])
            console.print(f"[cyan]{roi}:[/] resuming after epoch {start - 1} from {last}")
        else:
            console.print(
                f"[yellow]{roi}:[/] {last} was trained with different {', '.join(changed)}; starting fresh"
            )

    console.print(
        f"[bold]{roi}[/]: {len(tx)} training / {len(vx)} validation slices ({how}), "
        f"{cfg.n_classes} output channel(s), base {cfg.base_channel}, {cfg.img_size} px"
        + (f" tiles of {canvas} px slices" if canvas > cfg.img_size else "") + ", "
        f"device {device}, {precision}" + (f", {threads} thread(s)" if device.type == "cpu" else "")
    )
    t0, seen = time.perf_counter(), 0
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{roi} epoch {start}", total=preset.epochs - start + 1)
        for epoch in range(start, preset.epochs + 1):
            if preset.lr_schedule == "poly":
                done = (epoch - 1) / preset.epochs
                if time_budget_s is not None:
                    done = max(done, (time.perf_counter() - t0) / time_budget_s)
                for group in opt.param_groups:
                    group["lr"] = poly_lr(preset.lr, done)
            gen = torch.Generator().manual_seed(seed * 1009 + epoch)
            torch.manual_seed(seed + epoch)
            model.train()
            order = torch.randperm(len(tx), generator=gen)
            running = 0.0
            for i in range(0, len(order), preset.batch_size):
                idx = order[i : i + preset.batch_size]
                if len(idx) < 2 and len(order) > 1:
                    continue  # BatchNorm needs >1 sample; the slice is seen next epoch
                xb, yb = sample_patches(tx[idx], ty[idx], preset.img_size, gen)
                if settings.augment:
                    xb, yb = augment(xb, yb, gen)
                xb, yb = xb.to(device), yb.to(device)
                if settings.channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                loss = train_step(model, opt, scaler, xb, yb, precision, device)
                running += float(loss.detach()) * len(idx)
                seen += len(idx)
            val_loss, val_dice = evaluate_batches(
                model, vx, vy, preset.batch_size, device, settings.channels_last, precision
            )
            row = {"epoch": epoch, "train_loss": running / len(tx), "val_loss": val_loss, "val_dice": val_dice}
            history.append(row)
            improved = val_dice > best_dice
            if improved:
                best_dice, best_epoch = val_dice, epoch
                save_checkpoint(out_path, model, meta, epoch=epoch, val_dice=val_dice, history=history)
            save_checkpoint(
                last, model, meta, epoch=epoch, optimizer=opt.state_dict(), best_dice=best_dice,
                best_epoch=best_epoch, history=history, scaler=scaler.state_dict(),
            )
            progress.console.print(
                f"{roi} epoch {epoch:>3}/{preset.epochs}  loss {row['train_loss']:.4f}  "
                f"val loss {val_loss:.4f}  val Dice {val_dice:.4f}" + ("  [green]best[/]" if improved else "")
            )
            progress.update(task, advance=1, description=f"{roi} epoch {epoch}")
            if settings.patience is not None and epoch - best_epoch >= settings.patience:
                console.print(f"[yellow]{roi}:[/] no better validation Dice for {settings.patience} epochs; stopping")
                break
            if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
                console.print(f"[yellow]{roi}:[/] time budget reached after epoch {epoch}")
                break
    if best_epoch == 0:
        raise InputError(f"{roi}: no epoch was trained (already at {preset.epochs} epochs in {last}?)")
    return TrainResult(out_path, best_epoch, best_dice, history, time.perf_counter() - t0, seen)
