"""The segmentation benchmarks' results file, shared by ``bench.segment`` (real-data runs)
and ``bench.segment_throughput`` (images/s): each merges its entries into one JSON file.

Standard library only, so the throughput benchmark can save on a machine with nothing but torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "segment.json"


def save(update: dict, under: str | None = None) -> None:
    """Merge ``update`` into the results file (into its ``under`` entry if given), re-read
    just before writing: benchmark runs of different sections may overlap, and each keeps
    the others' entries."""
    result: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    (result.setdefault(under, {}) if under else result).update(update)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS}", file=sys.stderr)
