"""`make report` on a fresh clone: wall time with and without setup, and what the report recovers.

Writes bench/results/report.json with
- setup_s: `make setup` in a fresh clone (Debian packages already present on this machine;
  the venv, the project and the R package are built from scratch),
- report_s: `make report` after that (demo study, training, extraction, selection, statistics,
  rendering) — "setup excluded"; setup_s + report_s is "setup included",
- the disc Radscore AUC in the report (apparent, Table 2) beside the generator's latent-truth
  AUC, and the order of the disc, muscle, combined and Pfirrmann models in both,
- the report's validated (full-pipeline repeated k-fold) AUCs with their CIs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "report.json"


def auc(y: np.ndarray, x: np.ndarray) -> float:
    """Mann–Whitney AUC (ties count one half)."""
    pos, neg = x[y == 1], x[y == 0]
    return float(((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / (len(pos) * len(neg)))


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True)
    return time.perf_counter() - t0


def truth_aucs(demo: Path) -> dict[str, float]:
    truth = pl.read_parquet(demo / "truth.parquet")
    manifest = pl.read_csv(demo / "manifest.csv", schema_overrides={"patient_id": pl.Utf8})
    t = truth.join(manifest.select("patient_id", "pfirrmann"), on="patient_id")
    y = t["recurrence"].to_numpy()
    disc, muscle = "disc_heterogeneity", "muscle_fat"
    grade = t["pfirrmann"].replace_strict({"III": 1, "IV": 2, "V": 3}, return_dtype=pl.Int64).to_numpy()
    both = 2.5 * t[disc].to_numpy() + 1.55 * t[muscle].to_numpy()
    return {"radscore_disc": auc(y, t[disc].to_numpy()), "radscore_muscle": auc(y, t[muscle].to_numpy()),
            "radscore_combined": auc(y, both), "pfirrmann": max(auc(y, grade), 1 - auc(y, grade))}


def main() -> int:
    clone = Path(tempfile.gettempdir()) / "spinedlr-bench-report"
    shutil.rmtree(clone, ignore_errors=True)  # kept after the run, to look at the report
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    setup_s = timed(["make", "setup"], clone)
    report_s = timed(["make", "report"], clone)
    demo = clone / "out" / "demo"
    t2 = pl.read_parquet(demo / "out" / "stats" / "table2.parquet").filter(pl.col("model") == "unadjusted")
    report = {r["score"]: r["auc"] for r in t2.iter_rows(named=True)}
    val = pl.read_parquet(demo / "out" / "selection" / "validation.parquet").filter(
        pl.col("method").str.starts_with("full pipeline"))
    validated = {f"{r['score']} ({r['model']})": [round(r[k], 4) for k in ("auc", "auc_lower", "auc_upper")]
                 for r in val.iter_rows(named=True)}
    truth = truth_aucs(demo)
    order_report = sorted(truth, key=lambda k: -report.get(k, float("nan")))
    order_truth = sorted(truth, key=lambda k: -truth[k])
    result = {
        "setup_s": round(setup_s, 1), "report_s": round(report_s, 1),
        "setup_included_s": round(setup_s + report_s, 1),
        "auc_report": {k: round(v, 4) for k, v in report.items()},
        "auc_validated_full_pipeline": validated,
        "auc_truth": {k: round(v, 4) for k, v in truth.items()},
        "disc_auc_gap": round(report["radscore_disc"] - truth["radscore_disc"], 4),
        "order_report": order_report, "order_truth": order_truth,
        "order_matches": order_report == order_truth,
        "report": str(demo / "out" / "report" / "study.html"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if abs(result["disc_auc_gap"]) <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
