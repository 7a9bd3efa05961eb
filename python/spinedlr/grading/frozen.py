"""The grading study's frozen model: what `spinedlr apply` scores new discs with.

The grading stage saves one model, the design model with the best patient-grouped CV macro
AUROC (chosen by CV, never by the single hold-out split) with the study's calibration
(``design.calibration``: e.g. fitted on the training patients with an isotonic map on the
validation patients, or ``isotonic_cv``: fitted on both with a map on their out-of-fold
predictions), exactly the estimator whose test-split probabilities the report shows. ``grading/model.joblib`` holds the
estimator; ``grading/model.json`` records what is needed to use it and to refuse misuse:
the feature columns in order, the grades, the feature version, the seed and the deep
weights the features were made with, and the SHA-256 of the joblib file (so a replaced or
corrupted file is refused before it is unpickled).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import polars as pl

from spinedlr.design.models import predict_proba
from spinedlr.errors import InputError
from spinedlr.grading.features import FEATURE_VERSION
from spinedlr.grading.metrics import GRADES
from spinedlr.outputs import inside, write_atomic, write_text_atomic

RECORD_VERSION = 1
KIND = "grading"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_frozen(record: Path, estimator, model: str, columns: list[str], seed: int,
                weights: str, families: tuple[str, ...], calibration: str) -> None:
    """Write the estimator (joblib) and its record (json, naming its ``calibration``) under
    ``record``'s folder."""
    blob = record.with_suffix(".joblib")
    write_atomic(blob, lambda tmp: joblib.dump(estimator, tmp))
    write_text_atomic(record, json.dumps({
        "version": RECORD_VERSION, "kind": KIND, "model": model, "grades": list(GRADES),
        "columns": columns, "families": list(families), "calibration": calibration,
        "feature_version": FEATURE_VERSION, "seed": seed, "deep_weights": weights,
        "unit_keys": ["patient_id", "ivd_label"], "predicted": "argmax",
        "estimator": {"file": blob.name, "sha256": _sha256(blob)},
    }, indent=2))


@dataclass(frozen=True)
class FrozenGrading:
    """A fitted grading model read back: its record and its estimator."""

    record: dict
    estimator: object

    @property
    def columns(self) -> list[str]:
        return list(self.record["columns"])

    @property
    def needs_deep(self) -> bool:
        return "deep" in self.record["families"]

    def predict(self, table: pl.DataFrame) -> pl.DataFrame:
        """The discs' keys, ``prob_1`` ... ``prob_5`` and the predicted (most probable) grade."""
        missing = [c for c in self.columns if c not in table.columns]
        if missing:
            raise InputError(f"feature column(s) {', '.join(missing[:10])} were not computed; "
                             "the features changed since the model was fitted: run the study again")
        X = table.select(self.columns).to_numpy().astype(float)
        P = predict_proba(self.estimator, X, len(GRADES))
        probs = {f"prob_{g}": P[:, i] for i, g in enumerate(GRADES)}
        predicted = np.asarray(GRADES)[P.argmax(axis=1)]
        return table.select(self.record["unit_keys"]).with_columns(
            *(pl.Series(k, v) for k, v in probs.items()), pl.Series("predicted", predicted))


def load_frozen(record: Path, study_path: Path, seed: int) -> FrozenGrading:
    """The saved model, or one InputError saying what to run; refused when its record is of
    another version, its features of another version or seed, or its file was changed."""
    if not record.exists():
        raise InputError(f"{record}: the study has no fitted grading model yet; run "
                         f"`spinedlr run {study_path}` first")
    try:
        rec = json.loads(record.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{record}: unreadable model record ({err}); run the study again") from None
    if rec.get("version") != RECORD_VERSION or rec.get("kind") != KIND:
        raise InputError(f"{record}: record version {rec.get('version')!r}, kind "
                         f"{rec.get('kind')!r} is not one this toolkit applies; run the study again")
    if rec.get("feature_version") != FEATURE_VERSION or rec.get("seed") != seed:
        raise InputError(f"{record}: fitted on features of version {rec.get('feature_version')!r} "
                         f"and seed {rec.get('seed')!r}, this toolkit makes version "
                         f"{FEATURE_VERSION!r} with seed {seed}; run the study again")
    blob = inside(record.parent, rec["estimator"]["file"])
    if not blob.is_file() or _sha256(blob) != rec["estimator"]["sha256"]:
        raise InputError(f"{blob}: missing or changed since the model was fitted; run the study again")
    return FrozenGrading(rec, joblib.load(blob))
