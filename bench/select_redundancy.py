"""Benchmark: greedy redundancy deletion (Spearman |ρ| > 0.9) on clustered features.

Fused multi-ROI studies (Zou et al.: CT + MRI, three structures) concatenate several
thousand radiomics features before this step. Features here are noisy copies of p/10
latents (clusters of ~10, within-cluster |ρ| ≈ 0.94), n = 300 rows, BLAS threads = 1.
Writes bench/results/select_redundancy.json. Run from the repository root:
``python -m bench.select_redundancy``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from spinedlr.select.redundancy import GreedyRedundancyDeletion  # noqa: E402

OUT = Path(__file__).parent / "results" / "select_redundancy.json"


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for p in (1300, 3000, 8000):
        latent = rng.normal(size=(300, p // 10))
        X = latent[:, rng.integers(0, p // 10, p)] + 0.25 * rng.normal(size=(300, p))
        t = time.perf_counter()
        sel = GreedyRedundancyDeletion(0.9, "spearman").fit(X)
        rows.append({"rows": 300, "features": p, "deleted": len(sel.deleted_),
                     "seconds": round(time.perf_counter() - t, 2)})
        print(rows[-1])
    OUT.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                               "cpus": os.cpu_count(), "greedy_spearman_0.9": rows}, indent=2)
                   + "\n")


if __name__ == "__main__":
    main()
