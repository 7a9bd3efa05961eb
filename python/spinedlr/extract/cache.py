"""Per-task result cache keyed by content (image bytes, mask bytes, labels, parameters).

Why per task and atomic: a killed run must lose only the tasks that were in flight. Each
finished task is written as ``<key>.json`` (diagnostics) then ``<key>.parquet`` (features), each
via a temporary file and ``os.replace``; the parquet file appears last and complete, so its
presence is the "done" mark and a half-written file is never read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

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
        _atomic_write_text(dpath, json.dumps(diagnostics, sort_keys=True))
        tmp = fpath.with_name(f".{fpath.name}.{os.getpid()}.tmp")
        pl.DataFrame(features, schema=FEATURE_SCHEMA).write_parquet(tmp)
        os.replace(tmp, fpath)

    def get(self, key: str) -> tuple[pl.DataFrame, dict]:
        fpath, dpath = self._paths(key)
        return pl.read_parquet(fpath), json.loads(dpath.read_text())


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
