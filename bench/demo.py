"""Wall and CPU time of `spinedlr demo` for the reference cohort (170 patients, 39 events).

Run: ``python -m bench.demo``; writes ``bench/results/demo.json``. The load average is
recorded because the number means little on a machine shared with other jobs.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from spinedlr.demo.generate import write_demo_study

RESULTS = Path(__file__).parent / "results" / "demo.json"


def main(n: int = 170, events: int = 39) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        write_demo_study(Path(tmp) / "demo", n=n, events=events, seed=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    result = {
        "n": n,
        "events": events,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "per_patient_cpu_s": round(cpu / n, 4),
        "study_mb": round(size / 1e6, 1),
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
