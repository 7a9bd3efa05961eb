"""The `spinedlr` command line (Typer + rich).

Errors the user can fix (SpinedlrError) print as one red message and exit 1, never as a
traceback: the people running this are clinicians, not Python developers. Results and tables
go to stdout, progress and diagnostics to stderr; every command takes -v/--verbose and
-q/--quiet (see cli_support).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from spinedlr import __version__
from spinedlr.apply import apply_cmd
from spinedlr.cli_support import console, friendly, quiet, stdout
from spinedlr.demo.designs import Design
from spinedlr.evaluate import cli as evaluate_cli
from spinedlr.extract import cli as extract_cli
from spinedlr.pipeline import STAGES, run_pipeline
from spinedlr.segment import cli as segment_cli
from spinedlr.select import cli as select_cli

app = typer.Typer(
    name="spinedlr",
    help="Deep-learning-radiomics studies on spine imaging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(segment_cli.app, name="segment")
app.add_typer(extract_cli.app, name="extract")
app.add_typer(select_cli.app, name="select")
app.command("evaluate")(evaluate_cli.evaluate)
app.command("apply")(apply_cmd)

StageName = Enum("StageName", {s.name: s.name for s in STAGES}, type=str)


def _print(*objects) -> None:
    """A result line or table, on stdout."""
    stdout.print(*objects, highlight=False)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"spinedlr {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep-learning-radiomics studies on spine imaging."""


@app.command()
@friendly
def demo(
    out: Path = typer.Argument(..., help="Folder to write the demo study into."),
    design: Design = typer.Option(
        Design.reference, "--design", help="Which study to imitate: reference (Zhang 2026), "
        "fan2024 (two centres, external cohort) or zou2025 (three centres, CT + MRI)."),
    n: int = typer.Option(None, "--n", help="Number of patients, all centres together "
                          "(default: reference 170, fan2024 180, zou2025 200)."),
    events: int = typer.Option(None, "--events", help="Number of patients with the outcome "
                               "(reference design only; default 39)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same bytes)."),
    skip_existing: bool = typer.Option(
        False, "--skip-existing", help="Do nothing if OUT already holds a demo study."
    ),
) -> None:
    """Write a complete synthetic study (images, two raters' masks, clinical table, truth)."""
    from spinedlr.demo.designs import write_demo

    if skip_existing and (out / "study.yaml").exists() and (out / "truth.parquet").exists():
        console.print(f"demo study already at {out}; kept")
        return
    write_demo(design, out, n=n, events=events, seed=seed)
    _print(f"[green]demo study written:[/] {out / 'study.yaml'}")


@app.command()
@friendly
def validate(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    complete_case: bool = typer.Option(
        False, "--complete-case", help="Drop patients with missing covariates instead of failing."
    ),
    workers: int = typer.Option(None, "--workers", "-j",
                                help="Processes reading the files (default: runtime.workers)."),
) -> None:
    """Check the study config, manifest and every image and mask it points to (read whole)."""
    from spinedlr.config import load_study
    from spinedlr.manifest import validate_study

    s = load_study(study).override("runtime", "--workers", workers=workers)
    v = validate_study(s, complete_case=complete_case, show_progress=not quiet())
    for note in v.notes:
        console.print(f"[yellow]{escape(note)}[/]", highlight=False)
    if v.dropped_incomplete:
        console.print(
            f"[yellow]--complete-case:[/] dropped {len(v.dropped_incomplete)} patient(s) with "
            f"missing covariates: {', '.join(v.dropped_incomplete)}"
        )
    if v.ok:
        n = v.manifest[s.config.patient_id].n_unique()
        rows = f"{v.manifest.height} rows of " if v.manifest.height != n else ""  # per-disc rows
        _print(f"[green]OK[/] {rows}{n} patients, {len(s.config.rois)} ROIs")
        return
    table = Table(title=f"{len(v.problems)} problem(s) in {s.manifest_path}")
    for col in ("patient", "column / file", "problem"):
        table.add_column(col, overflow="fold")
    for row in v.problems:
        table.add_row(*map(escape, row))
    _print(table)
    raise typer.Exit(1)


@app.command()
@friendly
def run(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    report: bool = typer.Option(False, "--report", help="Render the HTML report at the end."),
    force: bool = typer.Option(False, "--force", help="Re-run stages even if inputs are unchanged."),
    only: list[StageName] = typer.Option(
        None, "--only", help="Run only this stage (repeatable): "
        f"{', '.join(s.name for s in STAGES)}; the others are left as they are."
    ),
) -> None:
    """Run every stage the study's design uses, in order, skipping unchanged ones."""
    from spinedlr.config import load_study

    s = load_study(study)
    done = run_pipeline(s, force=force, only=[o.value for o in only] if only else None)
    table = Table(title="pipeline")
    table.add_column("stage")
    table.add_column("status")
    for name, status in done:
        table.add_row(name, status)
    _print(table)
    if report:
        _render(s)


def _render(s) -> None:
    from spinedlr.report.render import render_report

    with console.status("rendering the report"):
        html = render_report(s)
    _print(f"[green]report:[/] {html}")


@app.command("report")
@friendly
def report_cmd(study: Path = typer.Argument(..., help="study.yaml (or its folder).")) -> None:
    """Render the HTML report from a study's outputs (run `spinedlr run` first)."""
    from spinedlr.config import load_study

    _render(load_study(study))


@app.command()
@friendly
def export(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    dest: Path = typer.Option(None, "--dest", help="Folder (default: <output>/export)."),
) -> None:
    """Write data, data dictionary and tables as CSV, and R scripts reproducing Tables 2 and 3."""
    from spinedlr.config import load_study
    from spinedlr.export import export_study

    folder = export_study(load_study(study), dest)
    _print(f"[green]exported:[/] {folder} (run `Rscript table2.R` and `Rscript table3.R` there)")


if __name__ == "__main__":
    app()
