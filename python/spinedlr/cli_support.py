"""What every `spinedlr` sub-command shares: the output streams, logging and user-error handling.

Results and tables go to stdout (`stdout`), so `spinedlr validate study.yaml > problems.txt` or
a pipe gets only them; progress, diagnostics and log records go to stderr (`console`). Every
command takes `-v/--verbose` (debug log records) and `-q/--quiet` (warnings and errors only,
no progress), added by :func:`friendly` so no command can forget them. A module of its own
so that the top-level CLI can import the stage CLIs and they can all share it without a
circular import.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Callable

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from spinedlr.errors import Interrupted, SpinedlrError

stdout = Console(soft_wrap=True)
console = Console(stderr=True)
RESUME = "Run the same command again to resume: finished work is skipped."
_errors = Console(stderr=True)
_handler: RichHandler | None = None


def quiet() -> bool:
    """True under -q/--quiet: commands then show no progress bars or status messages."""
    return console.quiet


def configure_output(verbose: bool = False, be_quiet: bool = False) -> None:
    """Route Python logging (and warnings) through rich on stderr at the level the flags ask.

    spinedlr's own records show from INFO by default (DEBUG with -v, WARNING with -q); other
    libraries' only from WARNING (INFO with -v), so PyRadiomics or Dask do not flood the screen.
    """
    global _handler
    if verbose and be_quiet:
        raise typer.BadParameter("choose one of -v/--verbose and -q/--quiet")
    console.quiet = be_quiet
    root = logging.getLogger()
    if _handler is None:
        logging.captureWarnings(True)
    else:
        root.removeHandler(_handler)
    # times and logger names only when debugging; the console resolves stderr at each write
    _handler = RichHandler(console=Console(stderr=True), show_time=verbose, show_path=verbose,
                           markup=False, rich_tracebacks=False)
    root.addHandler(_handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    own = logging.DEBUG if verbose else logging.WARNING if be_quiet else logging.INFO
    logging.getLogger("spinedlr").setLevel(own)


_VERBOSE = inspect.Parameter(
    "verbose", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
    default=typer.Option(False, "--verbose", "-v", help="Show debug log records (with times)."),
)
_QUIET = inspect.Parameter(
    "quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
    default=typer.Option(False, "--quiet", "-q", help="Only warnings, errors and results; no progress."),
)


def friendly(fn: Callable) -> Callable:
    """A CLI command with -v/-q and logging set up; user errors print as one red line, exit 1.

    Errors the user can fix (SpinedlrError) never show a traceback: the people running this
    are clinicians, not Python developers. They are printed even under -q. The file system's
    refusals (read-only folder, a file where a folder belongs, a full disk) are such errors
    too; Ctrl-C says that finished work is kept and how to resume (exit 130).
    """

    @functools.wraps(fn)
    def wrapper(*args, verbose: bool = False, quiet: bool = False, **kwargs):
        configure_output(verbose, quiet)
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

    sig = inspect.signature(fn)
    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), _VERBOSE, _QUIET])
    wrapper.__annotations__ = {**fn.__annotations__, "verbose": "bool", "quiet": "bool"}
    return wrapper


def _say(markup: str) -> None:
    _errors.print(markup, highlight=False, soft_wrap=True)


def require_valid(study, workers: int | None = None) -> None:
    """Every input file checked (cached) before an image-reading command writes anything."""
    from spinedlr.manifest import require_valid as check
    from spinedlr.outputs import ensure_writable

    ensure_writable(study.output)
    check(study, workers=workers, show_progress=not quiet(),
          warn=lambda note: console.print(f"[yellow]{escape(note)}[/]"))
