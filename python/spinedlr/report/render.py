"""Render `reports/study.qmd` into a self-contained HTML report for one study.

Quarto is used when its CLI is on PATH; otherwise the same `.qmd` (knitr engine, R chunks
only) is rendered with `rmarkdown::render` and Debian's pandoc. Both paths read the study's
output folder through the `study_out` parameter, so the document has one source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from spinedlr.config import Study
from spinedlr.errors import SpinedlrError
from spinedlr.outputs import ensure_writable, staged
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


REQUIRED = ("provenance.json", "radscores.parquet", "stats/table2.parquet")


def render_report(study: Study, engine: str = "auto") -> Path:
    """Render the report into `<output>/report/study.html` and return its path.

    The template and the data it reads are prepared in a private work folder that is deleted
    afterwards, so the published folder holds the self-contained HTML and its figures only
    (no patient tables beside them), and a failed render leaves nothing behind.
    """
    if not (REPORTS_DIR / "study.qmd").exists():
        raise ReportError(f"report template not found: {REPORTS_DIR / 'study.qmd'}")
    missing = [name for name in REQUIRED if not (study.output / name).exists()]
    if missing:
        raise ReportError(f"nothing to report yet in {study.output} (missing "
                          f"{', '.join(missing)}): run the pipeline first "
                          f"(`spinedlr run {study.path}`)")
    ensure_writable(study.output)
    work = Path(tempfile.mkdtemp(prefix=".report-", dir=study.output))
    try:
        shutil.copytree(REPORTS_DIR, work, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.html", "*_files"))
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
            raise ReportError(f"rendering the report failed:\n{tail}")
        with staged(study.output, replace=("report",)) as publish:  # old report/ goes whole
            (publish / "report").mkdir()
            shutil.copyfile(html, publish / "report" / "study.html")
            if (work / "figures").is_dir():  # each figure for the journal, PNG and PDF
                shutil.copytree(work / "figures", publish / "report" / "figures")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return study.out_path("report", "study.html")
