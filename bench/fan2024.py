"""`python -m bench.fan2024`: the fan2024 two-centre demo end to end, and what the nomogram
recovers.

Runs ``spinedlr demo OUT --design fan2024`` (default size) and ``spinedlr run
OUT/study.yaml --report`` with OMP_NUM_THREADS=1 and writes bench/results/fan2024.json with
- demo_s, run_report_s: wall times, and the 1-minute load average before and after (the
  machine is shared: a busy machine is slower, so the load is part of the number),
- per-stage finish times (from the run records),
- latent truth: the AUC of the demo's latent linear predictor and of the fitted nomogram in
  each centre (spinedlr.compare.truth), the external difference and whether it is within 0.05,
- the frozen Radscore's external AUC beside its internal (k-fold, bootstrap) AUCs, and the
  classifier vote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "fan2024.json"


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spinedlr.cli", *args], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - t0


def stage_finish_times(out: Path) -> dict[str, float]:
    """Seconds from the first stage record to each stage's record (its finish time)."""
    records = {p.stem: p.stat().st_mtime for p in (out / ".cache").glob("*.json")}
    start = min(records.values())
    return {k: round(v - start, 1) for k, v in sorted(records.items(), key=lambda kv: kv[1])}


def summarise(demo: Path) -> dict:
    """The numbers of a finished fan2024 demo run (no timing)."""
    from spinedlr.compare.truth import latent_truth
    from spinedlr.config import load_study

    study = load_study(demo / "study.yaml")
    out = study.output
    truth = {r["cohort"]: {k: round(v, 4) for k, v in r.items() if k != "cohort"}
             for r in latent_truth(study).iter_rows(named=True)}
    ext = pl.read_parquet(out / "external" / "auc.parquet")
    internal = pl.read_parquet(out / "external" / "internal_auc.parquet")
    nomo = pl.read_parquet(out / "compare" / "nomogram_auc.parquet")
    vote = pl.read_parquet(out / "compare" / "vote.parquet")
    return {
        "latent_truth": truth,
        "external_difference": truth["external"]["difference"],
        "external_within_0.05": abs(truth["external"]["difference"]) <= 0.05,
        "radscore_auc": {r["cohort"]: round(r["auc"], 4) for r in ext.iter_rows(named=True)}
        | {f"training, {r['method']}": round(r["estimate"], 4) for r in internal.iter_rows(named=True)},
        "final_models_auc": {f"{r['model']} ({r['cohort']})": [round(r[k], 4) for k in
                                                              ("auc", "auc_lower", "auc_upper")]
                             for r in nomo.iter_rows(named=True)},
        "nomogram_predictors": pl.read_parquet(out / "compare" / "nomogram_terms.parquet")["predictor"].to_list(),
        "vote": dict(zip(vote["model"], vote["votes"])),
        "stage_finish_s": stage_finish_times(out),
    }


def main() -> int:
    demo = Path(tempfile.mkdtemp(prefix="spinedlr-bench-fan2024-")) / "fan"
    load_before = os.getloadavg()[0]
    demo_s = timed(["demo", str(demo), "--design", "fan2024"])
    run_s = timed(["run", str(demo / "study.yaml"), "--report"])
    result = {"demo_s": round(demo_s, 1), "run_report_s": round(run_s, 1), "cores": os.cpu_count(),
              "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0],
              "omp_num_threads": 1, **summarise(demo), "report": str(demo / "out" / "report" / "study.html")}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
