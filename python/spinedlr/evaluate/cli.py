"""`spinedlr evaluate STUDY`: the clinical statistics (R package through rpy2)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from spinedlr.errors import SpinedlrError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


@app.callback(invoke_without_command=True)
def evaluate(study: Path = typer.Argument(..., help="study.yaml (or its folder).")) -> None:
    """Compute Tables 1-4, validation, partial AUC, calibration, DCA and CIC into <out>/stats/."""
    from spinedlr.config import load_study
    from spinedlr.evaluate.stage import run

    try:
        s = load_study(study)
        t0 = time.perf_counter()
        written = run(s)
    except SpinedlrError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"[green]evaluate:[/] {len(written)} tables in {s.output / 'stats'} "
                  f"({time.perf_counter() - t0:.1f} s)")
