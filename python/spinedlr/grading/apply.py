"""`spinedlr apply` for a grading study: score new discs with the frozen grading model.

The new manifest has the study manifest's columns (one row per disc and sequence; the grade
is optional, copied when present so the predictions can be scored). Its features are made by
the study's own code (``features.feature_table``) from its own rows: the patient-relative
features compare a disc with the *same patient's* other discs, so give every disc of a
patient, as the study had them. Only discs with a T2 crop are graded (as in the study); the
others are named on the console. Nothing is refitted: the model, its LASSO selection and its
calibration map (the record's ``calibration``) are the ones the grading stage saved (``frozen``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from spinedlr.cli_support import console
from spinedlr.config import Study
from spinedlr.errors import ManifestError
from spinedlr.grading.features import DISC_KEYS, feature_table, t1_only_discs
from spinedlr.grading.frozen import load_frozen
from spinedlr.outputs import check_identifier, write_atomic
from spinedlr.seeds import stage_seed

REQUIRED = (*DISC_KEYS, "sequence", "file")


def read_discs(manifest: Path) -> pl.DataFrame:
    """The new manifest; ManifestError naming every column it lacks, or when it is empty."""
    try:
        df = pl.read_csv(manifest)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise ManifestError(f"{manifest}: cannot read it as CSV ({err})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ManifestError(f"{manifest}: missing column(s) {', '.join(missing)} (a grading "
                            f"study's discs need {', '.join(REQUIRED)})")
    if not df.filter(pl.col("sequence") == "t2").height:
        raise ManifestError(f"{manifest}: no disc with a T2 crop (sequence t2) to score")
    return df


def apply_grading(study: Study, manifest: Path, out: Path, name: str | None = None) -> pl.DataFrame:
    """Score every T2 disc of ``manifest``; write ``out`` (already checked by the caller) and
    ``apply/<name>/predictions.parquet``; return the predictions (sorted by disc)."""
    from spinedlr.provenance import provenance, write_provenance

    frozen = load_frozen(study.paths.grading_model, study.path, stage_seed(study, "grading"))
    discs = read_discs(manifest)
    skipped = t1_only_discs(discs)
    if skipped.height:
        console.print(f"{skipped.height} disc(s) without a T2 crop not scored: " + ", ".join(
            f"{r['patient_id']}/{r['ivd_label']}" for r in skipped.head(10).iter_rows(named=True)))
    table, _ = feature_table(manifest.resolve().parent, None, stage_seed(study, "grading"),
                             manifest=manifest.name, deep=frozen.needs_deep)
    console.print(f"model {frozen.record['model']}, calibration {frozen.record['calibration']}")
    predicted = frozen.predict(table)
    outcome = study.config.outcome
    if outcome in table.columns:
        predicted = predicted.with_columns(table[outcome])
    try:
        folder = study.paths.apply_cohort(check_identifier(name or manifest.stem))
    except ValueError as err:
        raise ManifestError(f"cohort name {name or manifest.stem!r}: {err}; pass --name") from None
    write_atomic(out, predicted.write_parquet if out.suffix.lower() == ".parquet" else predicted.write_csv)
    write_atomic(folder / "predictions.parquet", predicted.write_parquet)
    write_provenance(folder / "provenance.json", provenance(study.config, "apply", {
        "manifest": str(manifest.resolve()), "out": str(out), "units": predicted.height,
        "model": frozen.record["model"], "calibration": frozen.record["calibration"],
        "record": hashlib.sha256(study.paths.grading_model.read_bytes()).hexdigest()}))
    return predicted
