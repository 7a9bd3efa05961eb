"""The `spinedlr` command line (Typer + rich).

Errors the user can fix (SpinedlrError) print as one red message and exit 1, never as a
traceback: the people running this are clinicians, not Python developers.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import typer
from rich.console import Console
from rich.table import Table

from spinedlr.errors import SpinedlrError
from spinedlr.extract import cli as extract_cli

app = typer.Typer(
    name="spinedlr",
    help="Deep-learning-radiomics studies on spine imaging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
app.add_typer(extract_cli.app, name="extract")


def friendly(fn: Callable) -> Callable:
    """Turn SpinedlrError into a clean message and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpinedlrError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


@app.command()
@friendly
def demo(
    out: Path = typer.Argument(..., help="Folder to write the demo study into."),
    n: int = typer.Option(170, "--n", help="Number of patients."),
    events: int = typer.Option(39, "--events", help="Number of patients with the outcome."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same bytes)."),
    skip_existing: bool = typer.Option(
        False, "--skip-existing", help="Do nothing if OUT already holds a demo study."
    ),
) -> None:
    """Write a complete synthetic study (images, two raters' masks, clinical table, truth)."""
    from spinedlr.demo.generate import write_demo_study

    if skip_existing and (out / "study.yaml").exists() and (out / "truth.parquet").exists():
        console.print(f"demo study already at {out}; kept")
        return
    write_demo_study(out, n=n, events=events, seed=seed)
    console.print(f"[green]demo study written:[/] {out / 'study.yaml'}")


@app.command()
@friendly
def validate(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    complete_case: bool = typer.Option(
        False, "--complete-case", help="Drop patients with missing covariates instead of failing."
    ),
) -> None:
    """Check the study config, manifest and every image and mask it points to."""
    from spinedlr.config import load_study
    from spinedlr.manifest import validate_study

    s = load_study(study)
    v = validate_study(s, complete_case=complete_case)
    if v.dropped_incomplete:
        console.print(
            f"[yellow]--complete-case:[/] dropped {len(v.dropped_incomplete)} patient(s) with "
            f"missing covariates: {', '.join(v.dropped_incomplete)}"
        )
    if v.ok:
        console.print(f"[green]OK[/] {v.manifest.height} patients, {len(s.config.rois)} ROIs")
        return
    table = Table(title=f"{len(v.problems)} problem(s) in {s.manifest_path}")
    for col in ("patient", "column / file", "problem"):
        table.add_column(col, overflow="fold")
    for row in v.problems:
        table.add_row(*row)
    console.print(table)
    raise typer.Exit(1)
