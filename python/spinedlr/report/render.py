"""Render `reports/study.qmd` (or, for a per-unit multi-class study, its multi-class
variant `reports/grading.qmd`) into a self-contained HTML report for one study.

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
from spinedlr.design.support import fixed_split, per_unit_multiclass
from spinedlr.errors import SpinedlrError
from spinedlr.grading.report_data import prepare_grading_data
from spinedlr.outputs import ensure_writable, staged
from spinedlr.paths import FIGURES, GRADING, PROVENANCE, RADSCORES, REPORT, STATS
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


REQUIRED = (PROVENANCE, RADSCORES, f"{STATS}/table2.parquet")
REQUIRED_GRADING = (PROVENANCE, f"{GRADING}/summary.json", f"{GRADING}/holdout.parquet")


def render_report(study: Study, engine: str = "auto") -> Path:
    """Render the report into `<output>/report/study.html` and return its path.

    The template and the data it reads are prepared in a private work folder that is deleted
    afterwards, so the published folder holds the self-contained HTML and its figures only
    (no patient tables beside them), and a failed render leaves nothing behind.
    """
    grading = per_unit_multiclass(study.config.design)  # the multi-class variant
    fusion = fixed_split(study.config.design)  # the fusion stage's variant
    if fusion:
        from spinedlr.fusion.report import REQUIRED as required, prepare_fusion_data as prepare
        template = "fusion.qmd"
    elif grading:
        template, required, prepare = "grading.qmd", REQUIRED_GRADING, prepare_grading_data
    else:
        template, required, prepare = "study.qmd", REQUIRED, prepare_report_data
    if not (REPORTS_DIR / template).exists():
        raise ReportError(f"report template not found: {REPORTS_DIR / template}")
    missing = [name for name in required if not (study.output / name).exists()]
    if missing:
        raise ReportError(f"nothing to report yet in {study.output} (missing "
                          f"{', '.join(missing)}): run the pipeline first "
                          f"(`spinedlr run {study.path}`)")
    ensure_writable(study.output)
    work = Path(tempfile.mkdtemp(prefix=".report-", dir=study.output))
    try:
        shutil.copytree(REPORTS_DIR, work, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.html", "*_files"))
        prepare(study, work / "data")
        use_quarto = engine == "quarto" or (engine == "auto" and shutil.which("quarto"))
        if use_quarto:
            cmd = ["quarto", "render", template, "-P", f"study_out:{study.output}",
                   "--output", "study.html"]
        else:
            cmd = ["Rscript", str(work / "render.R"), str(work / template), str(study.output)]
        proc = subprocess.run(cmd, cwd=work, env=_r_env(), capture_output=True, text=True)
        html = work / "study.html"
        if proc.returncode != 0 or not html.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise ReportError(f"rendering the report failed:\n{tail}")
        with staged(study.output, replace=(REPORT,)) as publish:  # old report/ goes whole
            target = study.paths.under(publish)
            target.report.mkdir()
            shutil.copyfile(html, target.report_html)
            if (work / FIGURES).is_dir():  # each figure for the journal, PNG and PDF
                shutil.copytree(work / FIGURES, target.at(REPORT, FIGURES))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return study.paths.report_html
