"""Render `reports/study.qmd` into a self-contained HTML report for one study.

Quarto is used when its CLI is on PATH; otherwise the same `.qmd` (knitr engine, R chunks
only) is rendered with `rmarkdown::render` and Debian's pandoc. Both paths read the study's
output folder through the `study_out` parameter, so the document has one source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from spinedlr.config import Study
from spinedlr.errors import SpinedlrError
from spinedlr.report.data import prepare_report_data

REPORTS_DIR = Path(__file__).resolve().parents[3] / "reports"


class ReportError(SpinedlrError):
    """Rendering failed (the message carries the renderer's last lines)."""


def _r_env() -> dict[str, str]:
    env = dict(os.environ)
    rlib = Path(__file__).resolve().parents[3] / ".Rlib"
    if rlib.exists():
        env["R_LIBS"] = os.pathsep.join(filter(None, [str(rlib), env.get("R_LIBS", "")]))
    return env


def render_report(study: Study, engine: str = "auto") -> Path:
    """Render the report into `<output>/report/study.html` and return its path."""
    if not (REPORTS_DIR / "study.qmd").exists():
        raise ReportError(f"report template not found: {REPORTS_DIR / 'study.qmd'}")
    work = study.output / "report"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(REPORTS_DIR, work, ignore=shutil.ignore_patterns("*.html", "*_files"))
    prepare_report_data(study, work / "data")
    use_quarto = engine == "quarto" or (engine == "auto" and shutil.which("quarto"))
    if use_quarto:
        cmd = ["quarto", "render", "study.qmd", "-P", f"study_out:{study.output}"]
    else:
        cmd = ["Rscript", str(work / "render.R"), str(work / "study.qmd"), str(study.output)]
    proc = subprocess.run(cmd, cwd=work, env=_r_env(), capture_output=True, text=True)
    html = work / "study.html"
    if proc.returncode != 0 or not html.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ReportError(f"rendering {work / 'study.qmd'} failed:\n{tail}")
    return html
