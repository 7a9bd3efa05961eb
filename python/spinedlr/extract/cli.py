"""`spinedlr extract radiomics|deep` — thin Typer wrappers around stage.run / deep_stage.run_deep."""

from __future__ import annotations

from pathlib import Path

import typer

from spinedlr.cli_support import friendly, quiet, stdout

app = typer.Typer(help="Feature extraction: PyRadiomics and deep features.", no_args_is_help=True)


@app.command()
@friendly
def radiomics(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    workers: int = typer.Option(None, "--workers", "-j", help="Local worker processes."),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Dask scheduler address tcp://HOST:PORT (overrides study.yaml)."
    ),
    keep_going: bool = typer.Option(
        None, "--keep-going/--no-keep-going", help="Exit 0 even if some tasks failed."
    ),
    roi: list[str] = typer.Option(None, "--roi", help="Only these ROIs (repeatable)."),
) -> None:
    """PyRadiomics features for every patient, ROI and rater -> features/radiomics.parquet."""
    from spinedlr.cli_support import require_valid
    from spinedlr.config import load_study
    from spinedlr.extract.stage import run

    s = load_study(study).override("runtime", "--workers/--scheduler/--keep-going", workers=workers,
                                   scheduler=scheduler, keep_going=keep_going)
    require_valid(s)
    summary = run(s, rois=roi or None, show_progress=not quiet())
    colour = "yellow" if summary.n_failed else "green"
    stdout.print(f"[{colour}]{summary.line()}[/]", highlight=False)
    for row in summary.failures.iter_rows(named=True):
        stdout.print(f"  failed: patient {row['patient_id']} ROI {row['roi']} "
                      f"({row['rater']}): {row['error']}", highlight=False, soft_wrap=True)


@app.command()
@friendly
def deep(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    keep_going: bool = typer.Option(
        None, "--keep-going/--no-keep-going", help="Exit 0 even if some patients failed."
    ),
) -> None:
    """Deep features (UCTransNet down4, GAP), selection module, Grad-CAM -> features/deep.parquet."""
    from spinedlr.cli_support import require_valid
    from spinedlr.config import load_study
    from spinedlr.extract.deep_stage import run_deep

    s = load_study(study).override("runtime", "--keep-going", keep_going=keep_going)
    require_valid(s)
    summary = run_deep(s, show_progress=not quiet())
    stdout.print(f"[green]{summary.line()}[/]", highlight=False)
