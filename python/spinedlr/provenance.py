"""Provenance: config hash, seed, package versions and date, attached to every output.

Why: a reviewer (or the author a year later) must be able to tell exactly which settings and
which software produced a number in the report.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import polars as pl

from spinedlr.config import StudyConfig
from spinedlr.outputs import inside, staged, write_atomic, write_text_atomic

PYTHON_PACKAGES = (
    "spinedlr", "numpy", "polars", "scikit-learn", "torch", "pyradiomics-bhklab", "SimpleITK",
    "pingouin", "rpy2", "scipy",
)


def python_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PYTHON_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def toolkit_commit(root: Path | None = None) -> str:
    """The git commit of the toolkit's own checkout, or "unknown" for an installed copy.

    Why: a version number does not pin unreleased code; a reviewer needs the exact commit.
    `git` runs with a list argv (no shell) in the package's folder, and any failure (no git,
    not a checkout, a wheel install) gives "unknown" rather than an error.
    """
    root = root or Path(__file__).resolve().parent
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        proc = subprocess.run([git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and len(commit) == 40 else "unknown"


def provenance(config: StudyConfig, stage: str, extra: dict | None = None) -> dict:
    """A JSON-able record for one stage's output."""
    return {
        "stage": stage,
        "config_hash": config.config_hash(),
        "seed": config.seed,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": python_versions(),
        "toolkit_commit": toolkit_commit(),
        **(extra or {}),
    }


def write_provenance(path: Path, record: dict) -> None:
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True))


def write_table_folder(root: Path, folder: str, tables: dict[str, pl.DataFrame],
                       record: dict) -> dict[str, Path]:
    """Write ``<root>/<folder>/<name>.parquet`` (+ a CSV copy for R users) for every table and
    the folder's provenance.json, replacing the folder as one set (spinedlr.outputs.staged):
    a stage that stops half-way leaves the previous tables intact. Returns the Parquet paths."""
    with staged(root, replace=(folder,)) as work:
        for name, df in tables.items():
            write_atomic(inside(work, folder, f"{name}.parquet"), df.write_parquet)
            write_atomic(inside(work, folder, f"{name}.csv"), df.write_csv)
        write_provenance(inside(work, folder, "provenance.json"), record)
    return {name: inside(root, folder, f"{name}.parquet") for name in tables}
