"""Benchmark of `spinedlr extract radiomics` on the 15 real disc ROIs (3 cases x 5 discs).

Full reference parameters (1,223 features, whole image, no crop). Reports ROI extractions per
minute serially, with a 2-process pool and on a 2-worker Dask LocalCluster, the warm-cache
re-run time, and each worker's peak resident memory. Every mode starts from an empty output
folder, and wall times include worker start-up (what a user waits for).

Run: `python -m bench.extract` -> bench/results/extract.json
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from extract_helpers import HAVE_DISCS, disc_study  # noqa: E402

from spinedlr.config import load_study  # noqa: E402
from spinedlr.extract.stage import run  # noqa: E402

CASES = ("case11", "case20", "case25")


def _mode(folder: Path, how: str) -> dict:
    path = disc_study(folder / how, cases=CASES)
    study = load_study(path)
    start = time.perf_counter()
    if how == "dask":
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            cluster_start = time.perf_counter() - start
            study = study.override("runtime", "scheduler", scheduler=cluster.scheduler_address)
            summary = run(study, show_progress=False)
    else:
        cluster_start = 0.0
        study = study.override("runtime", "workers", workers=1 if how == "serial" else 2)
        summary = run(study, show_progress=False)
    wall = time.perf_counter() - start
    assert summary.n_run == 15 and summary.n_failed == 0, summary.line()
    diag = pl.read_parquet(path.parent / "out" / "features" / "diagnostics.parquet")
    peaks = diag.group_by("worker_pid").agg(pl.col("peak_rss_mb").max())["peak_rss_mb"]
    result = {
        "rois": summary.n_run, "wall_s": round(wall, 2),
        "rois_per_min": round(60 * summary.n_run / wall, 2),
        "mean_task_s": round(float(diag["seconds"].mean()), 2),
        "mean_task_cpu_s": round(float(diag["cpu_seconds"].mean()), 2),
        "total_task_cpu_s": round(float(diag["cpu_seconds"].sum()), 1),
        # cores' worth of CPU the tasks actually got (2.0 = both cores, 1.0 = one)
        "cpu_share": round(float(diag["cpu_seconds"].sum()) / wall, 2),
        "peak_rss_mb_per_worker": sorted(round(float(x), 1) for x in peaks),
        "cluster_start_s": round(cluster_start, 2),
    }
    if how == "serial":
        t0 = time.perf_counter()
        warm = run(study, show_progress=False)
        result["warm_rerun_s"] = round(time.perf_counter() - t0, 2)
        assert warm.n_cached == 15
    return result


def main() -> None:
    if not HAVE_DISCS:
        raise SystemExit("needs ../shared/data/spine_mri/discs")
    with tempfile.TemporaryDirectory() as tmp:
        modes = {how: _mode(Path(tmp), how) for how in ("serial", "pool", "dask")}
    serial = modes["serial"]["wall_s"]
    out = {
        "what": "15 disc ROIs (3 cases x 5 discs), reference parameters, 1,223 features each",
        "modes": modes,
        "speedup_pool_2": round(serial / modes["pool"]["wall_s"], 2),
        "speedup_dask_2": round(serial / modes["dask"]["wall_s"], 2),
        "warm_rerun_fraction_of_cold": round(modes["serial"]["warm_rerun_s"] / serial, 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_at_end": os.getloadavg()},
    }
    pool_share = modes["pool"]["cpu_share"]
    out["saturated"] = pool_share < 1.5
    out["note"] = (
        f"the 2-worker run got {pool_share} cores' worth of CPU (other jobs were running): "
        "the speed-up cannot be judged here; per-task CPU time equal across executors shows "
        "tasks stay single-threaded" if out["saturated"] else
        "the 2-worker run had both cores")
    path = REPO / "bench" / "results" / "extract.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
