"""Stratified folds with a clear error when the outcome has too few events for them."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from spinedlr.errors import InputError


class TooFewEventsError(InputError, ValueError):
    """Fewer patients in the smaller outcome class than cross-validation folds (a user error:
    the CLI prints it as one line)."""


def check_events(y: np.ndarray, folds: int, what: str = "cross-validation") -> None:
    """Raise TooFewEventsError unless each outcome class has at least ``folds`` patients."""
    y = np.asarray(y)
    counts = {int(c): int((y == c).sum()) for c in np.unique(y)}
    smallest = min(counts.values()) if counts else 0
    if len(counts) < 2 or smallest < folds:
        raise TooFewEventsError(
            f"{what} needs at least {folds} patients in each outcome class for {folds} folds; "
            f"got {counts}. Use fewer folds or more patients."
        )


def stratified_folds(y: np.ndarray, folds: int, seed: int):
    """Shuffled stratified (train, test) index pairs; see ``check_events`` for the guard."""
    check_events(y, folds)
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
