"""Training UCTransNet on one ROI: a trainer with small named steps, as nnU-Net splits it.

The parts live in their own modules: the loss (``losses``), the learning-rate schedule
(``schedule``), the validation Dice (``train_metrics``), one optimiser step and one
validation pass (``steps``), the train/validation split (``split``) and resuming
(``resume``). ``Trainer`` strings them together: ``setup`` (data and recipe), ``build``
(network and optimiser), ``resume``, then per epoch ``run_epoch``, ``validate``,
``maybe_save`` and ``should_stop``. ``train_model`` is the one-call entry point.

Determinism: the model is initialised from ``seed``; each epoch draws its shuffling and
augmentation from a generator seeded by (seed, epoch) and reseeds torch's global RNG (dropout)
the same way. An interrupted run resumed from ``<name>.last.pt`` therefore continues exactly
as the uninterrupted run would have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from spinedlr.errors import InputError
from spinedlr.segment.checkpoint import save_checkpoint
from spinedlr.segment.data import NORMALISATION, Case, augment
from spinedlr.segment.model import ModelConfig, UCTransNet
from spinedlr.segment.precision import grad_scaler, resolve_precision
from spinedlr.segment.resume import last_path, restore, resume_mismatch, resume_point
from spinedlr.segment.runtime import configure_threads, resolve_device
from spinedlr.segment.schedule import epoch_lr
from spinedlr.segment.settings import NumberByPosition, SegmentSettings
from spinedlr.settings import RuntimeSettings
from spinedlr.segment.split import one_class, train_val_split
from spinedlr.segment.steps import evaluate_batches, train_step
from spinedlr.segment.tiles import canvas_size, sample_patches


@dataclass
class TrainResult:
    best_path: Path
    best_epoch: int
    best_dice: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    train_images: int = 0


class Trainer:
    """One training run of one ROI's network; see ``train_model`` for the arguments.

    Steps are methods so each can be read (and tested) on its own; their order, and so the
    order in which random numbers are drawn, is fixed in ``fit``.
    """

    def __init__(
        self, cases: list[Case], *, roi: str, labels: dict[int, str], slice_axis: int,
        settings: SegmentSettings, seed: int, out_path: Path, val_cases: list[Case] | None = None,
        time_budget_s: float | None = None, console: Console | None = None,
        number_by_position: NumberByPosition | None = None,
        runtime: RuntimeSettings | None = None,
    ) -> None:
        self.roi, self.labels, self.slice_axis = roi, labels, slice_axis
        self.settings, self.seed, self.out_path = settings, seed, out_path
        self.runtime = runtime or RuntimeSettings()
        self.time_budget_s, self.numbering = time_budget_s, number_by_position
        self.console = console or Console(stderr=True)
        self.last = last_path(out_path)
        self.start, self.best_dice, self.best_epoch = 1, -1.0, 0
        self.history: list[dict[str, float]] = []
        self.seen = 0
        self.setup(cases, val_cases)

    def setup(self, cases: list[Case], val_cases: list[Case] | None) -> None:
        """Resolve the recipe and hardware, check the cases, split them into slices.

        Everything that can fail on bad input or settings (fp16 on a CPU, a case with
        another channel count) fails here, before a network is built or a file written.
        """
        s = self.settings
        self.preset = s.resolved()
        self.device = resolve_device(self.runtime.device)
        self.precision = resolve_precision(s.precision, self.device)
        self.threads = configure_threads(self.runtime.num_threads)
        values = sorted(self.labels)
        if self.numbering is not None:
            cases, val_cases = one_class(cases), one_class(val_cases or [])
        self.cfg = ModelConfig(
            in_channels=cases[0].image.shape[0],
            n_classes=1 if len(values) == 1 or self.numbering else len(values) + 1,
            base_channel=self.preset.base_channel,
            img_size=self.preset.img_size,
        )
        for c in [*cases, *(val_cases or [])]:
            if c.image.shape[0] != self.cfg.in_channels:
                raise InputError(f"patient {c.case_id}: {c.image_paths} has a different channel count")
        self.canvas = canvas_size(self.preset.img_size, self.preset.zoom)
        (self.tx, self.ty), (self.vx, self.vy), self.how = train_val_split(
            cases, self.slice_axis, self.canvas, s, self.seed, val_cases
        )
        self.meta = self.checkpoint_meta(values)

    def checkpoint_meta(self, values: list[int]) -> dict[str, Any]:
        """What a checkpoint records besides the weights: enough to predict with the model
        and to tell whether a later run may resume from it (``resume.resume_mismatch``)."""
        return {
            "roi": self.roi,
            "labels": {int(k): str(v) for k, v in self.labels.items()},
            "label_values": values,
            "slice_axis": self.slice_axis,
            "normalisation": dict(NORMALISATION),
            "preset": self.preset.model_dump(),
            "seed": self.seed,
            "number_by_position": self.numbering.model_dump() if self.numbering else None,
            "precision": self.precision,
        }

    def build(self) -> None:
        """The network (initialised from the seed), Adam and the gradient scaler."""
        torch.manual_seed(self.seed)
        model = UCTransNet(self.cfg).to(self.device)
        if self.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=self.preset.lr, weight_decay=self.preset.weight_decay)
        self.scaler = grad_scaler(self.precision, self.device)

    def resume(self) -> None:
        """Continue from the last checkpoint when it was trained with this recipe."""
        ck = resume_point(self.last, self.device, self.console, self.roi)
        if ck is None:
            return
        changed = resume_mismatch(ck, self.cfg, self.meta)
        if changed:
            self.console.print(
                f"[yellow]{self.roi}:[/] {self.last} was trained with different {', '.join(changed)}; starting fresh"
            )
            return
        self.start = restore(ck, self.model, self.opt, self.scaler)
        self.best_dice, self.best_epoch = float(ck["best_dice"]), int(ck["best_epoch"])
        self.history = list(ck["history"])
        self.console.print(f"[cyan]{self.roi}:[/] resuming after epoch {self.start - 1} from {self.last}")

    def announce(self) -> None:
        """One line on what is about to train, where and how the data were split."""
        cfg, canvas = self.cfg, self.canvas
        self.console.print(
            f"[bold]{self.roi}[/]: {len(self.tx)} training / {len(self.vx)} validation slices ({self.how}), "
            f"{cfg.n_classes} output channel(s), base {cfg.base_channel}, {cfg.img_size} px"
            + (f" tiles of {canvas} px slices" if canvas > cfg.img_size else "") + ", "
            f"device {self.device}, {self.precision}"
            + (f", {self.threads} thread(s)" if self.device.type == "cpu" else "")
        )

    def run_epoch(self, epoch: int, elapsed_s: float) -> float:
        """Train one epoch; returns the mean training loss per slice.

        The learning rate follows the schedule from the epoch number (and the budget spent),
        the shuffling, patch draws and augmentation from a generator seeded by (seed, epoch).
        """
        preset, s = self.preset, self.settings
        lr = epoch_lr(preset.lr_schedule, preset.lr, epoch, preset.epochs, elapsed_s, self.time_budget_s)
        for group in self.opt.param_groups:
            group["lr"] = lr
        gen = torch.Generator().manual_seed(self.seed * 1009 + epoch)
        torch.manual_seed(self.seed + epoch)
        self.model.train()
        order = torch.randperm(len(self.tx), generator=gen)
        running = 0.0
        for i in range(0, len(order), preset.batch_size):
            idx = order[i : i + preset.batch_size]
            if len(idx) < 2 and len(order) > 1:
                continue  # BatchNorm needs >1 sample; the slice is seen next epoch
            xb, yb = sample_patches(self.tx[idx], self.ty[idx], preset.img_size, gen)
            if s.augment:
                xb, yb = augment(xb, yb, gen)
            xb, yb = xb.to(self.device), yb.to(self.device)
            if s.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            loss = train_step(self.model, self.opt, self.scaler, xb, yb, self.precision, self.device)
            running += float(loss.detach()) * len(idx)
            self.seen += len(idx)
        return running / len(self.tx)

    def validate(self) -> tuple[float, float]:
        """Validation loss and hard Dice, predicted as at prediction time (see ``steps``)."""
        return evaluate_batches(
            self.model, self.vx, self.vy, self.preset.batch_size, self.device,
            self.settings.channels_last, self.precision,
        )

    def maybe_save(self, epoch: int, val_dice: float) -> bool:
        """Write the best checkpoint if this epoch improved the validation Dice, and the
        last (resumable: optimiser and scaler included) after every epoch; True if improved."""
        improved = val_dice > self.best_dice
        if improved:
            self.best_dice, self.best_epoch = val_dice, epoch
            save_checkpoint(self.out_path, self.model, self.meta, epoch=epoch, val_dice=val_dice, history=self.history)
        save_checkpoint(
            self.last, self.model, self.meta, epoch=epoch, optimizer=self.opt.state_dict(),
            best_dice=self.best_dice, best_epoch=self.best_epoch, history=self.history,
            scaler=self.scaler.state_dict(),
        )
        return improved

    def should_stop(self, epoch: int, elapsed_s: float) -> str | None:
        """Why training stops after ``epoch`` before its epoch count (patience, budget), if it does."""
        patience = self.settings.patience
        if patience is not None and epoch - self.best_epoch >= patience:
            return f"no better validation Dice for {patience} epochs; stopping"
        if self.time_budget_s is not None and elapsed_s > self.time_budget_s:
            return f"time budget reached after epoch {epoch}"
        return None

    def fit(self, resume: bool = True) -> TrainResult:
        """Build, maybe resume, then train epoch by epoch with a progress bar."""
        self.build()
        if resume:
            self.resume()
        self.announce()
        roi, epochs = self.roi, self.preset.epochs
        t0 = time.perf_counter()
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(f"{roi} epoch {self.start}", total=epochs - self.start + 1)
            for epoch in range(self.start, epochs + 1):
                train_loss = self.run_epoch(epoch, time.perf_counter() - t0)
                val_loss, val_dice = self.validate()
                row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_dice": val_dice}
                self.history.append(row)
                improved = self.maybe_save(epoch, val_dice)
                progress.console.print(
                    f"{roi} epoch {epoch:>3}/{epochs}  loss {train_loss:.4f}  "
                    f"val loss {val_loss:.4f}  val Dice {val_dice:.4f}" + ("  [green]best[/]" if improved else "")
                )
                progress.update(task, advance=1, description=f"{roi} epoch {epoch}")
                if stop := self.should_stop(epoch, time.perf_counter() - t0):
                    self.console.print(f"[yellow]{roi}:[/] {stop}")
                    break
        if self.best_epoch == 0:
            raise InputError(f"{roi}: no epoch was trained (already at {epochs} epochs in {self.last}?)")
        return TrainResult(self.out_path, self.best_epoch, self.best_dice, self.history, time.perf_counter() - t0, self.seen)


def train_model(
    cases: list[Case], *, roi: str, labels: dict[int, str], slice_axis: int, settings: SegmentSettings,
    seed: int, out_path: Path, val_cases: list[Case] | None = None, resume: bool = True,
    time_budget_s: float | None = None, console: Console | None = None,
    number_by_position: NumberByPosition | None = None, runtime: RuntimeSettings | None = None,
) -> TrainResult:
    """Train UCTransNet on the cases' masks; write the best (``out_path``) and last checkpoints.

    ``labels`` maps mask values to names; class i+1 of the network is the i-th value in
    ascending order (one label = binary sigmoid head). With ``number_by_position`` all labels
    are learnt as one class and numbered at prediction time (see ``NumberByPosition``).
    ``time_budget_s`` stops after the epoch that crosses the budget (benchmarks: "within 30
    minutes of training"); a poly schedule then runs its course over whichever of epochs and
    budget ends first.
    """
    return Trainer(
        cases, roi=roi, labels=labels, slice_axis=slice_axis, settings=settings, seed=seed,
        out_path=out_path, val_cases=val_cases, time_budget_s=time_budget_s, console=console,
        number_by_position=number_by_position, runtime=runtime,
    ).fit(resume)
