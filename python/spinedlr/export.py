"""`spinedlr export`: the study's tables as CSV plus R scripts that reproduce Tables 2 and 3.

Why: statisticians on these teams work in R. They get plain CSVs (no Parquet/arrow needed,
arrow is not in Debian's R) and scripts that call the same `spinedlr` R functions the
pipeline used, on the same design, so every Table 2 and Table 3 number comes out equal.

What makes the numbers equal: ``analysis.csv`` is the very frame the evaluate stage passes to
R (ordinal covariates as their rank, nominal and binary ones as text levels), and
``design.json`` records each column's R class and factor levels (first = reference), which
``load_analysis.R`` applies; ``data_dictionary.csv`` says the same for people. Why a data file:
the study's names (outcome, scores, covariates) are user input and never become R source;
the R scripts are fixed files shipped with the package and read every name as data. Where
the pipeline's R package is installed is written to design.json too, so ``Rscript table2.R``
works from the export folder without R_LIBS.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import polars as pl

from spinedlr.config import Study
from spinedlr.errors import InputError
from spinedlr.outputs import write_atomic, write_text_atomic
from spinedlr.paths import SEGMENTATION, SELECTION, STATS
from spinedlr.evaluate.stage import encode, load_data
from spinedlr.stats.bridge import r_library

R_SCRIPTS = ("load_analysis.R", "table2.R", "table3.R")


def _r_class(dtype: pl.DataType) -> str:
    if isinstance(dtype, (pl.Enum, pl.Categorical)):
        return "factor"
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "numeric"
    return "character"


def data_dictionary(study: Study, analysis: pl.DataFrame, outcome: str) -> pl.DataFrame:
    """One row per analysis column: role, study type, R class, levels, reference, coding."""
    covs = {c.name: c for c in study.config.covariates}
    rows = []
    for name in analysis.columns:
        dtype = analysis[name].dtype
        r_class = _r_class(dtype)
        levels, reference = "", ""
        if name == "patient_id":
            role, kind, coding = "id", "identifier", "text, not used in models"
        elif name == outcome:
            role, kind, coding = "outcome", "binary", "0/1 (1 = event)"
        elif name in covs:
            cov = covs[name]
            role, kind = "covariate", cov.type.value
            if r_class == "factor":
                cats = list(dtype.categories)
                levels, reference = "|".join(cats), cats[0]
                coding = f"treatment dummies against the reference level '{cats[0]}'"
            elif r_class == "integer" and cov.levels is not None:
                labels = [str(x) for x in cov.levels]
                levels = "|".join(f"{i + 1}={lv}" for i, lv in enumerate(labels))
                reference = labels[0]
                coding = "rank 1..k of the ordered levels, one numeric column (linear in the rank)"
            else:
                coding = "one numeric column, as is"
        else:
            role, kind, coding = "score", "continuous", "one numeric column, as is (logit scale)"
        rows.append({"column": name, "role": role, "type": kind, "r_class": r_class,
                     "levels": levels, "reference": reference, "coding": coding})
    return pl.DataFrame(rows)


def _design(study: Study, analysis: pl.DataFrame, outcome: str, scores: list[str]) -> dict:
    cfg = study.config
    st = cfg.evaluate
    comparator = [cfg.comparator] if cfg.comparator else []
    columns = []
    for name in analysis.columns:
        dtype = analysis[name].dtype
        col = {"name": name, "r_class": _r_class(dtype)}
        if col["r_class"] == "factor":
            col["levels"] = list(dtype.categories)
        columns.append(col)
    return {
        "outcome": outcome,
        "table2_scores": [*comparator, *scores],
        "table3_scores": scores,
        "covariates": [c.name for c in cfg.covariates],
        "separation": st.separation,
        "conf_level": st.conf_level,
        "validation": {"loocv": st.loocv, "k": st.folds, "boot_n": st.boot_n, "seed": cfg.seed},
        "columns": columns,
        "r_library": r_library(),
    }


def export_study(study: Study, dest: Path | None = None) -> Path:
    """Write analysis.csv, data_dictionary.csv, design.json, the R scripts, every
    stats/selection/segmentation table as CSV and each stage's JSON files into dest."""
    paths = study.paths
    radscores = paths.radscores
    if not radscores.exists():
        raise InputError(f"{radscores} not found: run `spinedlr run {study.path}` first")
    dest = dest or paths.export
    dest.mkdir(parents=True, exist_ok=True)
    cfg = study.config
    data, scores = load_data(study)
    md = encode(study, data, for_models=True)
    # The outcome column carries the study's outcome name (the evaluate stage calls it "outcome").
    outcome = cfg.outcome if cfg.outcome not in md.columns else "outcome"
    analysis = md.rename({"outcome": outcome})
    write_atomic(dest / "analysis.csv", analysis.write_csv)
    write_atomic(dest / "data_dictionary.csv", data_dictionary(study, analysis, outcome).write_csv)
    write_text_atomic(dest / "design.json", json.dumps(_design(study, analysis, outcome, scores), indent=2))
    for folder in (STATS, SELECTION, SEGMENTATION):
        for table in sorted(paths.at(folder).glob("*.parquet")):
            write_atomic(dest / f"{folder}_{table.stem}.csv", pl.read_parquet(table).write_csv)
        for js in sorted(paths.at(folder).glob("*.json")):
            shutil.copy2(js, dest / f"{folder}_{js.name}")  # every stage has a provenance.json
    templates = resources.files("spinedlr") / "export_r"
    for name in R_SCRIPTS:
        write_text_atomic(dest / name, (templates / name).read_text())
    return dest
