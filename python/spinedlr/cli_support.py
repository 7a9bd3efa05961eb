"""What every `spinedlr` sub-command shares: the stderr console and user-error handling.

A module of its own so that the top-level CLI can import the stage CLIs and they can all use
the same handler without a circular import.
"""

from __future__ import annotations

import functools
from typing import Callable

import typer
from rich.console import Console
from rich.markup import escape

from spinedlr.errors import Interrupted, SpinedlrError

console = Console(stderr=True)
RESUME = "Run the same command again to resume: finished work is skipped."


def friendly(fn: Callable) -> Callable:
    """Errors the user can fix print as one red message and exit 1, never as a traceback.

    The file system's refusals (read-only folder, a file where a folder belongs, a full disk)
    are such errors too; Ctrl-C says that finished work is kept and how to resume (exit 130).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Interrupted as err:
            _say(f"[bold yellow]{escape(str(err))} {RESUME}[/]")
            raise typer.Exit(130) from None
        except SpinedlrError as err:
            _say(f"[bold red]error:[/] {escape(str(err))}")
            raise typer.Exit(1) from None
        except OSError as err:
            where = f": {err.filename}" if err.filename else ""
            _say(f"[bold red]error:[/] {escape(err.strerror or str(err))}{escape(where)}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _say("[bold yellow]interrupted; finished work is kept and files are written "
                 f"atomically, so nothing half-written was kept. {RESUME}[/]")
            raise typer.Exit(130) from None

    return wrapper


def _say(markup: str) -> None:
    console.print(markup, highlight=False, soft_wrap=True)


def require_valid(study, workers: int | None = None) -> None:
    """Every input file checked (cached) before an image-reading command writes anything."""
    from spinedlr.manifest import require_valid as check
    from spinedlr.outputs import ensure_writable

    ensure_writable(study.output)
    check(study, workers=workers, warn=lambda note: console.print(f"[yellow]{escape(note)}[/]"))
