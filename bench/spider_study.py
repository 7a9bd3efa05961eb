"""Benchmark: the whole SPIDER grading study as a user runs it (issue 15's 15-minute target).
Writes bench/results/spider_study.json.

Runs ``spinedlr run studies/spider_pfirrmann/study.yaml --report --force`` in a subprocess
with BLAS threads at 1 (the host's 2 cores are shared) and records its wall time, the grading
stage's own timing of each part (features, CV, hold-out, leave-one-scanner-out), the rest
(report rendering and start-up), the load average before and after, and the headline
numbers. ``--cold`` first deletes the study's grading feature cache
(``<output>/grading/cache``), so every crop is read and every feature extracted again.
Run from the repository root: ``python -m bench.spider_study --cold``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from spinedlr.config import load_study

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STUDY = ROOT / "studies" / "spider_pfirrmann" / "study.yaml"
OUT = HERE / "results" / "spider_study.json"
TARGET_S = 15 * 60


def main(cold: bool) -> dict:
    study = load_study(STUDY)
    if cold:
        shutil.rmtree(study.paths.grading_cache, ignore_errors=True)
    env = os.environ | {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    load_before = os.getloadavg()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spinedlr.cli", "run", str(STUDY), "--report", "--force"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
    summary = json.loads(study.paths.grading_summary.read_text())
    stage = summary["timing_s"]
    return {
        "machine": platform.machine(), "cpu_count": os.cpu_count(), "blas_threads": 1,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "cold_feature_cache": cold,
        "command": "spinedlr run studies/spider_pfirrmann/study.yaml --report --force",
        "wall_s": round(wall, 1), "target_s": TARGET_S, "meets_target": wall < TARGET_S,
        "grading_stage_s": {k: round(v, 1) for k, v in stage.items()},
        "report_and_startup_s": round(wall - stage["total"], 1),
        "report_html_bytes": study.paths.report_html.stat().st_size,
        "primary_model": summary["primary_model"],
        "cv": {m: {k: round(c[k], 4) for k in ("macro_auroc_mean", "macro_auroc_sd",
                                                "binary_auroc_mean", "binary_auroc_sd")}
               for m, c in summary["cv"].items()},
        "holdout_calibrated": {m: {k: h[k] for k in ("calibrated_macro_auroc", "calibrated_binary_auroc")}
                               for m, h in summary["holdout"].items()},
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cold", action="store_true", help="delete the grading feature cache first")
    result = main(ap.parse_args().cold)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("wall_s", "grading_stage_s", "report_and_startup_s")}, indent=2))
