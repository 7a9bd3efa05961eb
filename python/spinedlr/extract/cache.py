"""Per-task result cache keyed by content (image bytes, mask bytes, labels, parameters).

Why per task and atomic: a killed run must lose only the tasks that were in flight. Each
finished task is written as ``<key>.json`` (diagnostics) then ``<key>.parquet`` (features), each
via a temporary file and ``os.replace``; the parquet file appears last and complete, so its
presence is the "done" mark and a half-written file is never read. An entry damaged later
(a truncated copy, a disk error, a file from another version) is a miss, not an error:
``load`` says why and the task is extracted again.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from spinedlr.outputs import write_atomic, write_text_atomic

FEATURE_SCHEMA = {
    "image_type": pl.Utf8, "feature_class": pl.Utf8, "feature": pl.Utf8, "value": pl.Float64,
}


class TaskCache:
    """A folder of finished task results."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.parquet", self.folder / f"{key}.json"

    def has(self, key: str) -> bool:
        features, diagnostics = self._paths(key)
        return bool(key) and features.exists() and diagnostics.exists()

    def put(self, key: str, features: dict[str, list], diagnostics: dict) -> None:
        if not key:
            return
        fpath, dpath = self._paths(key)
        write_text_atomic(dpath, json.dumps(diagnostics, sort_keys=True))
        write_atomic(fpath, pl.DataFrame(features, schema=FEATURE_SCHEMA).write_parquet)

    def get(self, key: str) -> tuple[pl.DataFrame, dict]:
        fpath, dpath = self._paths(key)
        return pl.read_parquet(fpath), json.loads(dpath.read_text())

    def load(self, key: str) -> tuple[tuple[pl.DataFrame, dict] | None, str | None]:
        """(entry, None) when it reads back whole; (None, why) when it is there but damaged;
        (None, None) when there is none."""
        if not self.has(key):
            return None, None
        try:
            features, diagnostics = self.get(key)
        except Exception as err:  # polars and json raise several types for damaged files
            return None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if dict(features.schema) != FEATURE_SCHEMA or not isinstance(diagnostics, dict):
            return None, "wrong columns or layout"
        return (features, diagnostics), None
