"""What every `spinedlr` sub-command shares: the stderr console and user-error handling.

A module of its own so that the top-level CLI can import the stage CLIs and they can all use
the same handler without a circular import.
"""

from __future__ import annotations

import functools
from typing import Callable

import typer
from rich.console import Console

from spinedlr.errors import SpinedlrError

console = Console(stderr=True)


def friendly(fn: Callable) -> Callable:
    """Errors the user can fix print as one red message and exit 1, never as a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpinedlrError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper
