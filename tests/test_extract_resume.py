"""Kill a run part-way, re-run: only the missing tasks are extracted, the rest come from cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from extract_helpers import disc_study, needs_discs

from spinedlr.config import load_study
from spinedlr.extract.stage import run

pytestmark = [pytest.mark.shared, pytest.mark.skipif(**needs_discs)]
REPO = Path(__file__).resolve().parents[1]


def _finished(cache: Path) -> set[str]:
    """Keys of the finished entries; a write the kill interrupted leaves a hidden
    ``.<key>.parquet.<pid>.tmp.parquet`` that is not an entry (pathlib's glob matches it)."""
    return {p.stem for p in cache.glob("*.parquet") if not p.name.startswith(".")}


@pytest.mark.slow
def test_killed_run_resumes_with_only_missing_tasks(tmp_path):
    # reference parameters with cropping: ~1 s per task, 10 tasks, so there is time to kill
    path = disc_study(tmp_path, extract={"crop_to_roi": True})
    cache = tmp_path / "out" / "features" / "cache" / "radiomics"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from spinedlr.cli import app; app()",
         "extract", "radiomics", str(path), "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(_finished(cache)) < 3:
        assert proc.poll() is None, "run ended before it could be interrupted"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _finished(cache)
    assert 3 <= len(done) < 10
    assert not (tmp_path / "out" / "features" / "radiomics.parquet").exists()

    summary = run(load_study(path), show_progress=False)
    assert (summary.n_cached, summary.n_run, summary.n_failed) == (len(done), 10 - len(done), 0)
    diag = pl.read_parquet(tmp_path / "out" / "features" / "diagnostics.parquet")
    assert set(diag.filter(pl.col("from_cache"))["cache_key"]) == done
    features = pl.read_parquet(tmp_path / "out" / "features" / "radiomics.parquet")
    assert features.group_by("patient_id", "roi").len()["len"].to_list() == [1223] * 10

    again = run(load_study(path), show_progress=False)  # warm cache: nothing left to do
    assert (again.n_cached, again.n_run) == (10, 0)
    assert pl.read_parquet(tmp_path / "out" / "features" / "radiomics.parquet").equals(features)
