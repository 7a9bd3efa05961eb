"""Benchmark: full selection on 170 patients × ~1,300 features × 2 ROIs, and a full-pipeline
bootstrap (B = 200) of one ROI's whole chain. Writes bench/results/select.json.

Run from the repository root: ``python -m bench.select [--B 200]``. Single-threaded
(n_jobs = 1, BLAS threads 1) so the numbers are per core and comparable across machines.
The JSON is rewritten every 10 resamples, so an interrupted run still reports its pace.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from spinedlr.select.icc import icc_table  # noqa: E402
from spinedlr.select.pipeline import funnel, roi_pipeline, selected_features  # noqa: E402
from spinedlr.select.settings import SelectSettings  # noqa: E402
from spinedlr.select.synthetic import planted  # noqa: E402
from spinedlr.select.validation import bootstrap_auc  # noqa: E402

OUT = Path(__file__).parent / "results" / "select.json"
N, EVENTS, NOISE, SHAKY, K = 170, 39, 1280, 20, 5  # 2K + NOISE + SHAKY = 1,310 features


def roi_data(seed: int, y: np.ndarray, effect: float):
    X1, X2, _, names = planted(seed, k=K, noise=NOISE, shaky=SHAKY, effect=effect, y=y)
    ids = [f"P{i:03d}" for i in range(len(y))]
    return X1, X2, names, ids


def main(B: int) -> dict:
    rng = np.random.default_rng(0)
    y = np.zeros(N, dtype=int)
    y[rng.choice(N, EVENTS, replace=False)] = 1
    s = SelectSettings()
    res: dict = {"machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                 "n_patients": N, "events": EVENTS, "settings": s.model_dump(),
                 "loadavg_at_start": os.getloadavg()}
    t0 = time.perf_counter()
    fitted = {}
    for j, (roi, effect) in enumerate({"disc": 1.0, "muscle": 0.6}.items()):
        X1, X2, names, ids = roi_data(j, y, effect)
        t = time.perf_counter()
        tab = icc_table(pl.DataFrame(X1, schema=names).insert_column(0, pl.Series("patient_id", ids)),
                        pl.DataFrame(X2, schema=names).insert_column(0, pl.Series("patient_id", ids)),
                        names)
        t_icc = time.perf_counter() - t
        cols = {"radiomics": list(range(len(names)))}
        pipe = roi_pipeline(s, 0, cols, {"radiomics": tab["icc"].fill_null(np.nan).to_numpy()})
        t = time.perf_counter()
        pipe.fit(X1, y)
        res[roi] = {"n_features": len(names), "icc_s": round(t_icc, 3),
                    "fit_s": round(time.perf_counter() - t, 2),
                    "funnel": funnel(pipe, roi, cols)["n_out"].to_list(),
                    "selected": selected_features(pipe, names)}
        fitted[roi] = (pipe, X1)
    res["full_selection_2_rois_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps({k: res[k] for k in ("disc", "muscle", "full_selection_2_rois_s")}), flush=True)

    pipe, X = fitted["disc"]
    t0 = time.perf_counter()

    def progress(b: int) -> None:
        if b % 10 == 0 or b == B:
            el = time.perf_counter() - t0
            res["bootstrap"] = {"B_done": b, "B": B, "elapsed_s": round(el, 1),
                                "s_per_resample": round(el / b, 2)}
            OUT.write_text(json.dumps(res, indent=2))
            print(res["bootstrap"], flush=True)

    boot = bootstrap_auc(pipe, X, y, B=B, seed=1, progress=progress)
    res["bootstrap"].update({k: boot[k] for k in ("apparent", "optimism", "corrected", "redrawn")})
    res["bootstrap"]["roi"] = "disc"
    res["loadavg_at_end"] = os.getloadavg()
    OUT.write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--B", type=int, default=200)
    main(ap.parse_args().B)
