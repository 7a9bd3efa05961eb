"""Dice and HD95 against hand-computed answers."""

import math

import numpy as np

from spinedlr.segment.metrics import dice, evaluate_case, hd95


def test_dice_known_answer():
    a = np.zeros((4, 10, 10), bool)
    b = np.zeros_like(a)
    a[:, :5, :] = True  # 200 voxels
    b[:, 3:8, :] = True  # 200 voxels, 80 shared
    assert dice(a, b) == 2 * 80 / 400
    assert dice(np.zeros_like(a), np.zeros_like(a)) == 1.0
    assert dice(a, np.zeros_like(a)) == 0.0


def test_hd95_uses_spacing_in_array_order():
    a = np.zeros((5, 5, 5), bool)
    b = np.zeros_like(a)
    a[1, 2, 1] = True
    b[2, 2, 3] = True  # 1 voxel along z (4 mm), 2 along x (1 mm)
    rows = evaluate_case("p", "roi", a.astype(np.uint8), b.astype(np.uint8), {1: "x"}, (1.0, 1.0, 4.0))
    assert math.isclose(rows[0]["hd95_mm"], math.sqrt(16 + 4))
    assert rows[0]["dice"] == 0.0


def test_hd95_of_nested_boxes():
    # truth: 11^3 box; prediction: the box grown by 2 voxels along y only (spacing 0.5 mm).
    t = np.zeros((20, 20, 20), bool)
    t[4:15, 4:15, 4:15] = True
    p = np.zeros_like(t)
    p[4:15, 2:17, 4:15] = True
    d = hd95(p, t, (1.0, 0.5, 1.0))
    # Every distance is 0 (shared faces) or <= 1 mm; the grown ends are 1 mm from truth.
    assert math.isclose(d, 1.0)
    assert math.isnan(hd95(p, np.zeros_like(t), (1, 1, 1)))
