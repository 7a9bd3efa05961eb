"""Benchmark: full selection on 170 patients × ~1,300 features × 2 ROIs, then the cost of the
report's full-pipeline validation, before and after, in one run. Writes bench/results/select.json.

* before: the full-pipeline optimism bootstrap of one ROI's chain (``bootstrap_auc``), one
  process, ``--B`` resamples (the report would need ~200 per ROI, so it was never run);
* after: ``full_pipeline_cv`` — repeated stratified k-fold (``--repeats`` × ``--folds``) of
  both ROI chains, the combined Radscore and an adjusted model, on ``--workers`` processes
  (default: every core), one resample = every chain refitted once.

Seconds per ROI-chain refit before and after, their ratio, and the wall time of the whole
validation the report shows are in ``validation``. BLAS threads are 1, so "before" is per
core. Run from the repository root: ``python -m bench.select``.
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
from spinedlr.select.validation import RoiInput, bootstrap_auc, full_pipeline_cv  # noqa: E402

OUT = Path(__file__).parent / "results" / "select.json"
N, EVENTS, NOISE, SHAKY, K = 170, 39, 1280, 20, 5  # 2K + NOISE + SHAKY = 1,310 features


def roi_data(seed: int, y: np.ndarray, effect: float):
    X1, X2, _, names = planted(seed, k=K, noise=NOISE, shaky=SHAKY, effect=effect, y=y)
    ids = [f"P{i:03d}" for i in range(len(y))]
    return X1, X2, names, ids


def main(B: int, repeats: int, folds: int, workers: int) -> dict:
    rng = np.random.default_rng(0)
    y = np.zeros(N, dtype=int)
    y[rng.choice(N, EVENTS, replace=False)] = 1
    s = SelectSettings()
    res: dict = {"machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                 "n_patients": N, "events": EVENTS, "settings": s.model_dump(),
                 "loadavg_at_start": os.getloadavg()}
    t0 = time.perf_counter()
    fitted, icc = {}, {}
    for j, (roi, effect) in enumerate({"disc": 1.0, "muscle": 0.6}.items()):
        X1, X2, names, ids = roi_data(j, y, effect)
        t = time.perf_counter()
        tab = icc_table(pl.DataFrame(X1, schema=names).insert_column(0, pl.Series("patient_id", ids)),
                        pl.DataFrame(X2, schema=names).insert_column(0, pl.Series("patient_id", ids)),
                        names)
        t_icc = time.perf_counter() - t
        cols = {"radiomics": list(range(len(names)))}
        icc[roi] = tab["icc"].fill_null(np.nan).to_numpy()
        pipe = roi_pipeline(s, 0, cols, {"radiomics": icc[roi]})
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
    boot = bootstrap_auc(pipe, X, y, B=B, seed=1)
    before = (time.perf_counter() - t0) / B
    res["bootstrap"] = {"B": B, "s_per_resample": round(before, 2), "roi": "disc",
                        **{k: boot[k] for k in ("apparent", "optimism", "corrected", "redrawn")}}
    print(res["bootstrap"], flush=True)

    rois = {roi: RoiInput(Xr, {"radiomics": list(range(Xr.shape[1]))}, {"radiomics": icc[roi]})
            for roi, (_, Xr) in fitted.items()}
    age = np.random.default_rng(5).normal(50, 10, N)[:, None]
    adjust = {s_: (age, []) for s_ in ("radscore_disc", "radscore_muscle", "radscore_combined")}
    t0 = time.perf_counter()
    cv = full_pipeline_cv(s, 0, rois, y, adjust, repeats=repeats, folds=folds, workers=workers)
    wall = time.perf_counter() - t0
    n_res = repeats * folds
    after = wall / (n_res * len(rois))
    res["validation"] = {
        "before_s_per_roi_refit": round(before, 2), "after_s_per_roi_refit": round(after, 2),
        "ratio": round(before / after, 2), "workers": workers, "repeats": repeats, "folds": folds,
        "after_wall_s": round(wall, 1), "after_resamples": n_res,
        "before_wall_s_for_200_bootstrap_resamples_2_rois": round(before * 200 * len(rois), 1),
        "auc": {f"{r['score']} ({r['model']})": [round(r["auc"], 4), round(r["auc_lower"], 4),
                                                 round(r["auc_upper"], 4)]
                for r in cv.iter_rows(named=True)},
    }
    print(res["validation"], flush=True)
    res["loadavg_at_end"] = os.getloadavg()
    OUT.write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--B", type=int, default=10, help="bootstrap resamples timed (before)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    main(a.B, a.repeats, a.folds, a.workers)
