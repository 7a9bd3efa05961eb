"""The trainer's parts on their own: loss, schedule, validation Dice, split, light imports."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from spinedlr.errors import InputError
from spinedlr.segment.data import Case
from spinedlr.segment.losses import seg_loss
from spinedlr.segment.schedule import epoch_lr, poly_lr
from spinedlr.segment.settings import SegmentSettings
from spinedlr.segment.split import train_val_split
from spinedlr.segment.train_metrics import hard_dice, mean_dice, predict_classes

LN2, LN3 = math.log(2), math.log(3)


def test_binary_loss_is_bce_plus_soft_dice_by_hand():
    # sigmoid probabilities 0.5, 0.75 / 0.25, 0.5 against foreground in the top row
    logits = torch.tensor([[[[0.0, LN3], [-LN3, 0.0]]]])
    target = torch.tensor([[[1, 1], [0, 0]]])
    bce = (LN2 + math.log(4 / 3) + math.log(4 / 3) + LN2) / 4
    dice = (2 * (0.5 + 0.75) + 1) / (2.0 + 2 + 1)  # smoothed by 1: 3.5 / 5
    assert float(seg_loss(logits, target)) == pytest.approx(bce + 1 - dice, rel=1e-6)


def test_multiclass_loss_is_ce_plus_mean_foreground_soft_dice_by_hand():
    # per pixel (row-major): softmax (.5,.25,.25), (.25,.5,.25), (1/3,1/3,1/3), (.25,.25,.5)
    per_pixel = [[LN2, 0, 0], [0, LN2, 0], [0, 0, 0], [0, 0, LN2]]
    logits = torch.tensor(per_pixel).T.reshape(1, 3, 2, 2)
    target = torch.tensor([[[0, 1], [2, 1]]])
    ce = (LN2 + LN2 + LN3 + math.log(4)) / 4  # -log p of the true class
    dice1 = (2 * (0.5 + 0.25) + 1) / (4 / 3 + 2 + 1)  # class 1: pixels 2 and 4
    dice2 = (2 * (1 / 3) + 1) / (4 / 3 + 1 + 1)  # class 2: pixel 3; background is not scored
    assert float(seg_loss(logits, target)) == pytest.approx(ce + 1 - (dice1 + dice2) / 2, rel=1e-6)


def test_poly_schedule_values():
    assert poly_lr(1e-3, 0.0) == 1e-3
    assert poly_lr(1.0, 0.5) == pytest.approx(0.5358867312681466)
    assert poly_lr(1.0, 1.0) == 0.0 and poly_lr(1.0, 1.3) == 0.0
    # epoch 3 of 3 starts two thirds through: lr x (1/3)^0.9
    assert epoch_lr("poly", 1e-3, 3, 3) == pytest.approx(1e-3 * 0.37204105801130144)
    assert epoch_lr("poly", 1.0, 1, 10) == 1.0


def test_budget_progress_rule_takes_the_further_of_epochs_and_time():
    # epoch 2 of 10 is 10 % through by epochs; half the budget spent counts instead
    assert epoch_lr("poly", 1.0, 2, 10, elapsed_s=50, budget_s=100) == pytest.approx(0.5358867312681466)
    assert epoch_lr("poly", 1.0, 2, 10, elapsed_s=5, budget_s=100) == pytest.approx(0.9095325760829622)
    assert epoch_lr("constant", 1e-3, 9, 10, elapsed_s=99, budget_s=100) == 1e-3


def test_hard_dice_pools_voxels_and_skips_absent_classes():
    logits = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 3.0]]]])
    pred = predict_classes(logits)
    assert pred.tolist() == [[[0, 1], [1, 2]]]
    inter, psum, tsum = hard_dice(pred, torch.tensor([[[0, 1], [0, 2]]]), n_fg=3)
    assert (inter.tolist(), psum.tolist(), tsum.tolist()) == ([1, 1, 0], [2, 1, 0], [1, 1, 0])
    assert mean_dice(inter, psum, tsum) == pytest.approx((2 / 3 + 1) / 2)  # class 3: absent
    assert math.isnan(mean_dice(*(torch.zeros(2, dtype=torch.long),) * 3))


def _case(i: int, z: int = 6) -> Case:
    """Patient ``i``: every voxel = (i + 1) / 10 inside the image, so a slice's maximum names
    the patient it came from; a box of foreground on every slice."""
    mask = np.zeros((z, 12, 12), np.uint8)
    mask[:, 3:9, 3:9] = 1
    img = np.full((1, z, 12, 12), (i + 1) / 10, np.float32)
    return Case(f"p{i}", img, None, mask)


def _patients(x: torch.Tensor) -> set[int]:
    return {round(float(v) * 10) - 1 for v in x.flatten(1).amax(1)}


def test_five_patients_hold_out_whole_patients_reproducibly():
    cases, s = [_case(i) for i in range(5)], SegmentSettings()
    (tx, ty), (vx, vy), how = train_val_split(cases, 0, 32, s, seed=1, val_cases=None)
    again = train_val_split(cases, 0, 32, s, seed=1, val_cases=None)
    assert all(torch.equal(a, b) for a, b in zip((tx, ty, vx, vy), (*again[0], *again[1])))
    assert how == "1 held-out patient(s)" and len(_patients(vx)) == 1
    assert _patients(tx).isdisjoint(_patients(vx)) and _patients(tx) | _patients(vx) == set(range(5))
    held_out = {frozenset(_patients(train_val_split(cases, 0, 32, s, k, None)[1][0])) for k in range(8)}
    assert len(held_out) > 1  # the seed decides which patient


def test_few_patients_hold_out_their_last_slices_and_refuse_too_few():
    cases, s = [_case(i) for i in range(3)], SegmentSettings(val_fraction=0.2)
    (tx, _), (vx, _), how = train_val_split(cases, 0, 32, s, seed=1, val_cases=None)
    assert (len(tx), len(vx)) == (3 * 4, 3 * 2) and how == "last 20% of each case's slices"
    with pytest.raises(InputError, match="p0.*too few labelled slices"):
        train_val_split([_case(0, z=1)], 0, 32, s, seed=1, val_cases=None)


def test_loss_step_model_and_precision_import_without_the_imaging_stack():
    """The throughput benchmark runs these on a GPU machine without polars or SimpleITK."""
    code = (
        "import sys, spinedlr.segment.steps, spinedlr.segment.runtime, spinedlr.segment.settings;"
        "print(sorted(m for m in ('polars', 'SimpleITK', 'scipy', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
