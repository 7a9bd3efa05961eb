"""Learning-rate schedules: nnU-Net's poly decay, or a constant rate.

Why poly: at a constant rate the last epochs keep jumping between solutions (real muscle
sample: test Dice swung 0.61-0.84 in the last minutes of a 12-minute run); decaying to zero
lets them settle. Progress is the larger of the share of epochs done and the share of the
wall-clock budget spent, so a run stopped by its budget (benchmarks) still ends its decay
instead of being cut off at a high rate.
"""

from __future__ import annotations

from typing import Literal

EXPONENT = 0.9  # nnU-Net's


def poly_lr(base: float, progress: float) -> float:
    """The poly schedule: ``base`` x (1 - progress)^0.9, progress in [0, 1]."""
    return base * max(0.0, 1.0 - progress) ** EXPONENT


def progress(epoch: int, epochs: int, elapsed_s: float, budget_s: float | None) -> float:
    """Share of training done when ``epoch`` (1-based) starts: epochs before it over all
    epochs, or the share of ``budget_s`` already spent if that is larger."""
    done = (epoch - 1) / epochs
    if budget_s is not None:
        done = max(done, elapsed_s / budget_s)
    return done


def epoch_lr(
    schedule: Literal["constant", "poly"], base: float, epoch: int, epochs: int,
    elapsed_s: float = 0.0, budget_s: float | None = None,
) -> float:
    """The learning rate for ``epoch``; a resumed run recomputes it from the epoch number, so
    it continues the schedule exactly where the interrupted run was."""
    if schedule == "constant":
        return base
    return poly_lr(base, progress(epoch, epochs, elapsed_s, budget_s))
