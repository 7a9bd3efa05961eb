"""Provenance names the toolkit's exact commit (a version number does not pin unreleased code)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from spinedlr.provenance import provenance, toolkit_commit

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_toolkit_commit_is_the_checkout_head() -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT / "python" / "spinedlr",
                          capture_output=True, text=True, check=True).stdout.strip()
    assert toolkit_commit() == head
    assert len(head) == 40


def test_toolkit_commit_outside_a_checkout_is_unknown(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert toolkit_commit(tmp_path) == "unknown"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert toolkit_commit() == "unknown"


def test_every_provenance_record_carries_the_commit(tmp_path: Path) -> None:
    from spinedlr.config import load_study
    from spinedlr.evaluate.synthetic import write_synthetic_study

    study = load_study(write_synthetic_study(tmp_path, n=40, events=10))
    record = provenance(study.config, "test")
    assert record["toolkit_commit"] == toolkit_commit()
