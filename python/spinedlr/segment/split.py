"""Training and validation slices: which data chooses the best epoch.

Why these rules: validation must be data the network does not train on, or the "best"
checkpoint is the most over-fitted one. With at least 5 patients whole patients are held out
(a seeded permutation, ``val_fraction`` of them); with fewer, holding out a patient would
leave too little anatomy to learn from, so the last ``val_fraction`` of each patient's
labelled slices are held out instead (neighbouring slices are similar, so this is the weaker
check, and it is said so in the training summary). Given validation cases replace both.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from spinedlr.errors import InputError
from spinedlr.segment.data import Case, training_slices
from spinedlr.segment.settings import SegmentSettings

MIN_PATIENTS_TO_HOLD_OUT = 5

Slices = tuple[Tensor, Tensor]


def one_class(cases: list[Case]) -> list[Case]:
    """The cases with every label merged into class 1 (``number_by_position`` training)."""
    return [replace(c, mask=(c.mask > 0).astype("uint8")) for c in cases]


def _stack(cases: list[Case], axis: int, size: int, s: SegmentSettings, gen: torch.Generator) -> Slices:
    parts = [training_slices(c, axis, size, s.background_ratio, gen) for c in cases]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _tail_slices(cases: list[Case], axis: int, size: int, s: SegmentSettings, gen: torch.Generator):
    """Each case's last ``val_fraction`` of labelled slices held out (fewer than 5 patients)."""
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
    return (torch.cat(tx), torch.cat(ty)), (torch.cat(vx), torch.cat(vy))


def train_val_split(
    cases: list[Case], axis: int, size: int, s: SegmentSettings, seed: int, val_cases: list[Case] | None,
) -> tuple[Slices, Slices, str]:
    """(training slices, validation slices, how they were split), slices fitted to ``size``;
    the same ``seed`` gives the same split and the same sampled background slices."""
    gen = torch.Generator().manual_seed(seed)
    if val_cases:
        return _stack(cases, axis, size, s, gen), _stack(val_cases, axis, size, s, gen), (
            f"{len(val_cases)} given validation case(s)"
        )
    if len(cases) >= MIN_PATIENTS_TO_HOLD_OUT:
        order = torch.randperm(len(cases), generator=gen).tolist()
        n_val = max(1, round(s.val_fraction * len(cases)))
        val = [cases[i] for i in order[:n_val]]
        train = [cases[i] for i in order[n_val:]]
        return _stack(train, axis, size, s, gen), _stack(val, axis, size, s, gen), f"{n_val} held-out patient(s)"
    train, val = _tail_slices(cases, axis, size, s, gen)
    return train, val, f"last {s.val_fraction:.0%} of each case's slices"
