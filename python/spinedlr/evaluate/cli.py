"""`spinedlr evaluate STUDY`: the clinical statistics (R package through rpy2).

A plain command (registered by spinedlr.cli), not a command group: it has no sub-commands.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from spinedlr.cli_support import friendly, stdout


@friendly
def evaluate(study: Path = typer.Argument(..., help="study.yaml (or its folder).")) -> None:
    """Compute Tables 1-4, validation, partial AUC, calibration, DCA and CIC into <out>/stats/."""
    from spinedlr.config import load_study
    from spinedlr.evaluate.stage import run

    s = load_study(study)
    t0 = time.perf_counter()
    written = run(s)
    stdout.print(f"[green]evaluate:[/] {len(written)} tables in {s.paths.stats} "
              f"({time.perf_counter() - t0:.1f} s)", highlight=False)
