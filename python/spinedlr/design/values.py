"""The text form of a cell value, shared by outcome classes and split columns.

Why: YAML gives ``1``, a manifest column gives ``1`` or ``1.0`` (a float column with gaps)
or ``"1"``; all four must name the same class, centre or scanner.
"""

from __future__ import annotations


def label(value: object) -> str:
    """``1``, ``1.0``, ``"1"`` and ``" 1 "`` all become ``"1"``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
