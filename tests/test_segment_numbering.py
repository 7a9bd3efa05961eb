"""Numbering one-class predictions by position (vertebral levels)."""

import numpy as np
import pytest
from pydantic import ValidationError

from spinedlr.segment.numbering import number_by_position
from spinedlr.segment.settings import NumberByPosition


def discs(rows: list[int], size: int = 5) -> np.ndarray:
    """A sagittal stack with one box-shaped 'disc' centred at each row."""
    fg = np.zeros((4, 60, 20), np.uint8)
    for r in rows:
        fg[:, r - 1 : r + 2, 5 : 5 + size] = 1
    return fg


def label_at(labels: np.ndarray, row: int) -> int:
    return int(labels[1, row, 6])


def test_lowest_label_goes_to_the_named_end():
    fg = discs([8, 20, 32, 44, 56])
    from_end = number_by_position(fg, [1, 2, 3, 4, 5], NumberByPosition(axis=1, first="end"))
    assert [label_at(from_end, r) for r in (56, 44, 32, 20, 8)] == [1, 2, 3, 4, 5]
    from_start = number_by_position(fg, [1, 2, 3, 4, 5], NumberByPosition(axis=1, first="start"))
    assert [label_at(from_start, r) for r in (8, 20, 32, 44, 56)] == [1, 2, 3, 4, 5]
    assert ((from_end > 0) == (fg > 0)).all()  # outlines untouched


def test_extra_level_at_the_far_end_and_specks_are_left_out():
    fg = discs([5, 17, 29, 41, 53])  # six levels in view: the cranial one (row 5) is extra ...
    fg[:, 11:14, 5:10] = 1  # ... and row 12 holds a sixth disc
    fg[2, 24, 15] = 1  # a one-voxel speck between levels
    labels = number_by_position(fg, [10, 20, 30, 40, 50], NumberByPosition(axis=1, first="end"))
    assert [label_at(labels, r) for r in (53, 41, 29, 17, 12)] == [10, 20, 30, 40, 50]
    assert label_at(labels, 5) == 0 and labels[2, 24, 15] == 0


def test_missing_level_shifts_nothing_it_cannot_know_and_empty_is_empty():
    fg = discs([20, 32])
    labels = number_by_position(fg, [1, 2, 3], NumberByPosition(axis=1, first="end"))
    assert label_at(labels, 32) == 1 and label_at(labels, 20) == 2 and 3 not in labels
    assert not number_by_position(np.zeros((3, 4, 5), np.uint8), [1], NumberByPosition(axis=0, first="start")).any()


def test_settings_reject_bad_axis_and_end():
    with pytest.raises(ValidationError):
        NumberByPosition(axis=3, first="end")
    with pytest.raises(ValidationError):
        NumberByPosition(axis=1, first="top")
