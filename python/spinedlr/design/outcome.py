"""Encode the outcome column into integer classes 0..K-1 in the declared class order.

Why encode once, here: every estimator (XGBoost insists) wants classes 0..K-1, the ordinal
order must not be the accidental sort order of the values ("10" < "2"), and an undeclared
value (a typo, a grade 6) must stop the study with the rows that hold it rather than become
a class of its own. The class names also name the ``prob_<class>`` output columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from spinedlr.design.settings import OutcomeSettings
from spinedlr.design.values import label
from spinedlr.errors import InputError


@dataclass(frozen=True)
class OutcomeCoding:
    """A study's outcome: its column, kind and classes (index = the integer code)."""

    column: str
    kind: str
    classes: tuple[str, ...]

    @property
    def positive(self) -> int:
        """Code of the event class (binary outcomes only: it is always 1)."""
        if self.kind != "binary":
            raise ValueError(f"a {self.kind} outcome has no single positive class")
        return 1

    @property
    def prob_columns(self) -> list[str]:
        """Names of the predicted-probability columns, one per class, in class order."""
        return [f"prob_{c}" for c in self.classes]

    def encode(self, values: pl.Series | list | np.ndarray) -> np.ndarray:
        """Integer codes of the values; InputError naming undeclared or missing values."""
        series = values if isinstance(values, pl.Series) else pl.Series(self.column, values)
        codes = {c: i for i, c in enumerate(self.classes)}
        out = np.empty(len(series), dtype=np.int64)
        bad: dict[str, list[int]] = {}
        for i, v in enumerate(series.to_list()):
            key = "missing" if v is None else label(v)
            if key in codes:
                out[i] = codes[key]
            else:
                bad.setdefault(key, []).append(i + 1)
        if bad:
            what = "; ".join(f"{k!r} in row(s) {', '.join(map(str, rows[:5]))}"
                             + (" ..." if len(rows) > 5 else "") for k, rows in bad.items())
            raise InputError(f"outcome column {self.column!r} holds values that are not "
                             f"declared classes {list(self.classes)}: {what}")
        return out

    def decode(self, codes: np.ndarray) -> list[str]:
        """Class names of integer codes (the predicted class column)."""
        return [self.classes[int(c)] for c in codes]


def outcome_coding(settings: OutcomeSettings, default_column: str) -> OutcomeCoding:
    """The coding of a configured outcome; binary puts the positive class last (code 1)."""
    column = settings.column or default_column
    classes = [label(c) for c in settings.classes] if settings.classes else ["0", "1"]
    if settings.kind == "binary":
        positive = label(settings.positive) if settings.positive is not None else classes[-1]
        classes = [c for c in classes if c != positive] + [positive]
    return OutcomeCoding(column, settings.kind, tuple(classes))
