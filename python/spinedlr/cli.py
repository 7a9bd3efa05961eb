"""The `spinedlr` command line (Typer + rich).

Errors the user can fix (SpinedlrError) print as one red message and exit 1, never as a
traceback: the people running this are clinicians, not Python developers.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from spinedlr.cli_support import console, friendly
from spinedlr.evaluate import cli as evaluate_cli
from spinedlr.extract import cli as extract_cli
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
app.add_typer(evaluate_cli.app, name="evaluate")


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
    workers: int = typer.Option(None, "--workers", "-j",
                                help="Processes reading the files (default: extract.workers)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Check the study config, manifest and every image and mask it points to (read whole)."""
    from spinedlr.config import load_study, override
    from spinedlr.manifest import validate_study

    s = override(load_study(study), "extract", "--workers", workers=workers)
    v = validate_study(s, complete_case=complete_case, show_progress=not quiet)
    for note in v.notes:
        console.print(f"[yellow]{escape(note)}[/]", highlight=False)
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
        table.add_row(*map(escape, row))
    console.print(table)
    raise typer.Exit(1)


@app.command()
@friendly
def run(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    report: bool = typer.Option(False, "--report", help="Render the HTML report at the end."),
    force: bool = typer.Option(False, "--force", help="Re-run stages even if inputs are unchanged."),
) -> None:
    """Run every stage (segment, extract, select, evaluate), skipping unchanged ones."""
    from spinedlr.config import load_study
    from spinedlr.pipeline import run_pipeline

    s = load_study(study)
    done = run_pipeline(s, force=force)
    table = Table(title="pipeline")
    table.add_column("stage")
    table.add_column("status")
    for name, status in done:
        table.add_row(name, status)
    console.print(table)
    if report:
        _render(s)


def _render(s) -> None:
    from spinedlr.report.render import render_report

    with console.status("rendering the report"):
        html = render_report(s)
    console.print(f"[green]report:[/] {html}")


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
    """Write the tables as CSV with an R script that reproduces Table 2 with library(spinedlr)."""
    from spinedlr.config import load_study
    from spinedlr.export import export_study

    folder = export_study(load_study(study), dest)
    console.print(f"[green]exported:[/] {folder} (run `Rscript table2.R` there)")


if __name__ == "__main__":
    app()
