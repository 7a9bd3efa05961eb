"""`spinedlr apply STUDY NEW_MANIFEST --out predictions.csv`: score new units with a fitted study.

The frozen pipeline, nothing refitted: the study's preprocessing and extraction settings and
trained networks (``apply_cohort``), its selected features, training means and SDs,
coefficients and class coding (``apply_model``). This is how an external cohort is scored
and how a model is deployed. One row per unit: the unit key columns, ``prob_<class>`` for
every class and the predicted class (the most probable one); the outcome column is copied
when the new manifest has it, so the predictions can be scored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import typer

from spinedlr.cli_support import console, friendly, quiet, stdout
from spinedlr.config import Study
from spinedlr.design.support import per_unit_multiclass
from spinedlr.errors import InputError



def check_out(study: Study, manifest: Path, out: Path) -> Path:
    """The predictions file: .csv or .parquet, never the manifest or one of the study's own
    outputs (inside the output folder only under ``apply/``)."""
    out = out.resolve()
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {out}: give a .csv or .parquet file name")
    if out == manifest.resolve():
        raise InputError(f"--out {out} is the manifest itself; choose another file")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    own, scored = study.output, study.paths.apply
    if out.is_relative_to(own) and not out.is_relative_to(scored):
        raise InputError(f"--out {out} lies among the study's own outputs; write it elsewhere "
                         f"or under {scored}")
    return out


def apply_study(study: Study, manifest: Path, out: Path, name: str | None = None,
                show_progress: bool = True) -> pl.DataFrame:
    """Score every unit of ``manifest`` with the study's frozen model; write and return the
    predictions (in the manifest's row order). Relative image paths resolve against the
    manifest's folder, as the study's own do (Study.resolve_data)."""
    from spinedlr.apply_cohort import cohort_name, cohort_study, extract_cohort, read_cohort
    from spinedlr.apply_model import load_frozen
    from spinedlr.outputs import write_atomic
    from spinedlr.provenance import provenance, write_provenance

    out = check_out(study, manifest, out)
    if per_unit_multiclass(study.config.design):  # a grading study: its own frozen model
        from spinedlr.grading.apply import apply_grading

        return apply_grading(study, manifest, out, name)
    model = load_frozen(study)
    model.check_fingerprint(study)
    folder = study.paths.apply_cohort(cohort_name(manifest, name))
    cohort = read_cohort(study, manifest, model)
    wides = extract_cohort(study, cohort_study(study, cohort, folder, model), model, show_progress)
    pid = study.config.patient_id
    predicted = model.predict(wides).rename({"patient_id": pid})
    extra = [model.coding.column] if model.coding.column in cohort.columns else []
    table = cohort.select(*model.keys, *extra).join(predicted, on=pid, how="left",
                                                    maintain_order="left")
    lost = table.filter(pl.col("predicted").is_null())[pid].to_list()
    if lost:
        raise InputError(f"no prediction for {len(lost)} unit(s) (a ROI without features): "
                         f"{', '.join(lost[:10])}")
    write_atomic(out, table.write_parquet if out.suffix.lower() == ".parquet" else table.write_csv)
    write_atomic(folder / "predictions.parquet", table.write_parquet)
    write_provenance(folder / "provenance.json", provenance(study.config, "apply", {
        "manifest": str(manifest.resolve()), "out": str(out), "units": table.height,
        "model": hashlib.sha256(study.paths.model_record.read_bytes()).hexdigest()}))
    return table


@friendly
def apply_cmd(
    study: Path = typer.Argument(..., help="The fitted study's study.yaml (or its folder)."),
    manifest: Path = typer.Argument(..., help="Manifest of the units to score, with the "
                                    "study's columns (the outcome column is optional)."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions file (.csv or .parquet)."),
    name: str = typer.Option(None, "--name", help="Cohort name: its features go to "
                             "<output>/apply/<name>/ (default: the manifest's file name)."),
) -> None:
    """Score new patients with a fitted study: same extraction, features, model; nothing refitted."""
    from spinedlr.config import load_study

    s = load_study(study)
    table = apply_study(s, manifest, out, name, show_progress=not quiet())
    counts = table["predicted"].value_counts(sort=True)
    shown = ", ".join(f"{c}: {n}" for c, n in counts.iter_rows())
    console.print(f"features of the cohort: {s.paths.apply}", highlight=False)
    stdout.print(f"[green]{table.height} prediction(s) written:[/] {out} ({shown})",
                 highlight=False)
