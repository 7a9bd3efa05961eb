"""What the fusion report (``reports/fusion.qmd``) reads: the stage's tables as CSV.

Why CSV: the report is an R (knitr) document and Debian's R has no arrow (as for the
reference report, spinedlr.report.data). The per-patient predictions travel only into the
private work folder the report is rendered in, which is deleted afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from spinedlr.config import Study
from spinedlr.outputs import write_atomic, write_text_atomic
from spinedlr.paths import FUSION

REQUIRED = (f"{FUSION}/auc.parquet", f"{FUSION}/run.parquet")
"""Outputs without which there is nothing to report."""


def prepare_fusion_data(study: Study, dest: Path) -> Path:
    """Write ``fusion_<table>.csv`` for every table of the stage and ``study.json``."""
    dest.mkdir(parents=True, exist_ok=True)
    for table in sorted(study.paths.at(FUSION).glob("*.parquet")):
        write_atomic(dest / f"fusion_{table.stem}.csv", pl.read_parquet(table).write_csv)
    cohorts = pl.read_parquet(study.paths.at(FUSION, "cohorts.parquet"))
    cfg = study.config
    write_text_atomic(dest / "study.json", json.dumps({
        "name": cfg.name, "title": cfg.report.title, "outcome": cfg.outcome,
        "outcome_label": cfg.outcome_label, "seed": cfg.seed, "config_hash": cfg.config_hash(),
        "rois": [r.name for r in cfg.rois], "comparator": cfg.comparator,
        "covariates": [c.model_dump(mode="json") for c in cfg.covariates],
        "models": [m.name for m in cfg.design.models], "cv_folds": cfg.fusion.cv_folds,
        "search_folds": cfg.design.search_folds, "normalise": cfg.fusion.normalise,
        "readers": list(cfg.fusion.readers),
        "n_patients": cohorts.height, "n_events": int(cohorts["outcome"].sum()),
    }, indent=2))
    return dest
