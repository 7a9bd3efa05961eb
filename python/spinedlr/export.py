"""`spinedlr export`: the study's tables as CSV plus an R script that reproduces Table 2.

Why: statisticians on these teams work in R. They get plain CSVs (no Parquet/arrow needed,
arrow is not in Debian's R) and a script that calls the same `spinedlr` R functions the
pipeline used, so they can check or extend every number without Python.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from spinedlr.config import Study
from spinedlr.errors import InputError
from spinedlr.manifest import load_manifest

SCRIPT = """\
# Reproduces Table 2 (unadjusted rows) of the spinedlr report with the R package alone.
# Run from this folder:  Rscript table2.R   (needs library(spinedlr); see the README)
library(spinedlr)
analysis <- read.csv("analysis.csv", stringsAsFactors = FALSE)
scores <- {scores}
table2 <- do.call(rbind, lapply(scores, function(s) {{
  cbind(model = s, roc_summary(analysis, score = s, outcome = "{outcome}"))
}}))
write.csv(table2, "table2_from_R.csv", row.names = FALSE)
print(table2[, c("model", "auc", "auc_lower", "auc_upper", "cutoff", "sensitivity", "specificity")])
"""


def export_study(study: Study, dest: Path | None = None) -> Path:
    """Write analysis.csv, every stats/selection table as CSV, and table2.R into dest."""
    out = study.output
    radscores = out / "radscores.parquet"
    if not radscores.exists():
        raise InputError(f"{radscores} not found: run `spinedlr run {study.path}` first")
    dest = dest or out / "export"
    dest.mkdir(parents=True, exist_ok=True)
    cfg = study.config
    manifest = load_manifest(study).select(cfg.patient_id, *[c.name for c in cfg.covariates])
    scores = pl.read_parquet(radscores)
    analysis = scores.join(manifest, on=cfg.patient_id, how="left")
    if "outcome" in analysis.columns and cfg.outcome not in analysis.columns:
        analysis = analysis.rename({"outcome": cfg.outcome})
    analysis.write_csv(dest / "analysis.csv")
    for folder in ("stats", "selection", "segmentation"):
        for table in sorted((out / folder).glob("*.parquet")):
            pl.read_parquet(table).write_csv(dest / f"{folder}_{table.stem}.csv")
        for js in sorted((out / folder).glob("*.json")):
            shutil.copy2(js, dest / js.name)
    # The study's models (as in the evaluate stage): each ROI's Radscore and their combination.
    main = [f"radscore_{r.name}" for r in cfg.rois] + ["radscore_combined"]
    score_cols = [c for c in main if c in analysis.columns]
    r_vector = "c(" + ", ".join(f'"{c}"' for c in score_cols) + ")"
    (dest / "table2.R").write_text(SCRIPT.format(scores=r_vector, outcome=cfg.outcome))
    return dest
