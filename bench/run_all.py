"""Run every benchmark module in turn (`make bench`); each writes bench/results/<name>.json.

Why one process per benchmark: peak-memory numbers and thread settings must not leak from
one benchmark into the next.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["demo", "segment", "extract", "select", "evaluate", "report", "zou2025"]


def main() -> int:
    failed = []
    for name in ORDER:
        if not (HERE / f"{name}.py").exists():
            continue
        t0 = time.perf_counter()
        print(f"==> bench.{name}", flush=True)
        rc = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
        print(f"<== bench.{name}: exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
