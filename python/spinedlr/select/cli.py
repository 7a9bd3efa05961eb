"""`spinedlr select run|apply`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from spinedlr.cli_support import friendly, stdout
from spinedlr.outputs import write_atomic

app = typer.Typer(help="Feature selection and Radscores.", no_args_is_help=True)


@app.command("run")
@friendly
def run_cmd(study: Path = typer.Argument(..., help="study.yaml (or its folder).")) -> None:
    """ICC, selection chain and Radscores for every ROI (selection/, radscores.parquet)."""
    from spinedlr.config import load_study
    from spinedlr.select.stage import run

    paths = run(load_study(study))
    steps = pl.read_parquet(paths["steps"])
    for (roi, fam), g in steps.group_by("roi", "family", maintain_order=True):
        funnel = " → ".join(str(v) for v in [g["n_in"][0], *g["n_out"].to_list()[1:]])
        stdout.print(f"{roi} / {fam}: {funnel}")
    stdout.print(f"[green]Radscores written:[/] {paths['radscores']}")


@app.command("apply")
@friendly
def apply_cmd(
    formula: Path = typer.Argument(..., help="radscore_<roi>_<family>.json from `select run`."),
    features: list[Path] = typer.Argument(
        ..., help="Feature table(s): LONG extraction tables (radiomics/deep.parquet) or a wide "
        "table with patient_id (e.g. radscores.parquet for radscore_combined.json)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .parquet or .csv."),
    rater: str = typer.Option("rater1", "--rater", help="Rater whose features are scored."),
) -> None:
    """Score new patients (e.g. an external cohort) with a saved Radscore formula."""
    from spinedlr.errors import InputError
    from spinedlr.select.radscore import apply_formula, read_formula
    from spinedlr.select.tables import LONG_COLUMNS, check_finite, read_long, to_wide

    f = read_formula(formula)
    wide = None
    for path in features:
        if not path.exists():
            raise InputError(f"{path}: feature table not found")
        cols = pl.read_parquet_schema(path).keys() if path.suffix == ".parquet" else []
        if set(LONG_COLUMNS) <= set(cols):
            if "roi" not in f:
                raise InputError(f"{formula}: formula has no ROI; give a wide table instead")
            w = to_wide(read_long(path), f["roi"], rater, path)
            check_finite(w, path, f["roi"], rater)
        else:
            w = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
            w = w.with_columns(pl.col("patient_id").cast(pl.String))
        wide = w if wide is None else wide.join(w, on="patient_id", how="inner")
    scores = apply_formula(f, wide)
    write_atomic(out, scores.write_csv if out.suffix == ".csv" else scores.write_parquet)
    stdout.print(f"[green]{scores.height} Radscores written:[/] {out}")
