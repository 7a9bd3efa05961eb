"""The zou2025 demo end to end: run time, test-cohort AUC beside the latent truth's, and
the 3D network's training throughput at both presets.

Run: ``python -m bench.zou2025`` (writes a 200-patient demo into a temporary folder, times
``spinedlr run --report`` on it) or ``python -m bench.zou2025 --study DIR --wall-s S`` to
summarise a demo already run (DIR/study.yaml, its run timed by the caller). Writes
``bench/results/zou2025.json``. The throughput numbers are ``bench/classify3d.py``'s
(``bench/results/classify3d.json``: the cpu preset for whole epochs, the paper preset on the
CPU for a few steps), copied here so the note on issue 17 has them in one place.

The latent truth's AUC is the AUC of the demo's true linear predictor on the same test
patients: the best any model can do on this cohort (the outcome adds logistic noise).

``--seeds 0 1 2 3`` runs the demo once per seed (a new cohort, split and fit each time) and
adds ``by_seed`` (every model's AUC in each cohort, the clinical factors chosen) and
``spread`` (mean and SD over seeds): a 20-patient test cohort is one draw, so one seed's
test AUC says little on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "zou2025.json"
THROUGHPUT = HERE / "results" / "classify3d.json"


def run_demo(folder: Path, n: int, seed: int) -> tuple[float, float]:
    """(wall s, child CPU s) of `spinedlr run --report` on a fresh demo in ``folder``."""
    cli = [sys.executable, "-m", "spinedlr.cli"]
    subprocess.run([*cli, "demo", str(folder), "--design", "zou2025", "--n", str(n), "--seed",
                    str(seed)], check=True, cwd=HERE.parent)
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*cli, "run", str(folder / "study.yaml"), "--report"], check=True, cwd=HERE.parent)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return time.perf_counter() - t0, cpu


def _auc_row(auc: pl.DataFrame, cohort: str, score: str) -> dict:
    r = auc.filter((pl.col("cohort") == cohort) & (pl.col("score") == score)).row(0, named=True)
    return {k: round(r[k], 4) for k in ("auc", "auc_lower", "auc_upper")}


def _aucs(auc: pl.DataFrame) -> dict:
    """cohort -> score -> AUC: a signature far better on training than on validation is an
    in-sample one (issue 17's DL signature was, before it became out of fold)."""
    return {c: {r["score"]: round(r["auc"], 4) for r in auc.filter(pl.col("cohort") == c).iter_rows(named=True)}
            for c in auc["cohort"].unique(maintain_order=True)}


def _latent(folder: Path, cohorts: pl.DataFrame) -> pl.DataFrame:
    """The roc_summary row of the demo's true linear predictor on the test cohort."""
    from spinedlr.stats import roc_summary

    truth = pl.read_parquet(folder / "truth.parquet").join(cohorts, on="patient_id")
    test = truth.filter(pl.col("cohort") == "test")
    return roc_summary(test.select("linear_predictor", "outcome"), "linear_predictor", "outcome")


def summarise(folder: Path, wall_s: float | None, cpu_s: float | None) -> dict:
    """The numbers of one run of the demo in ``folder``."""
    fusion = folder / "out" / "fusion"
    auc = pl.read_parquet(fusion / "auc.parquet")
    cohorts = pl.read_parquet(fusion / "cohorts.parquet")
    latent = _latent(folder, cohorts)
    run = dict(pl.read_parquet(fusion / "run.parquet").iter_rows())
    readers = pl.read_parquet(fusion / "readers.parquet")
    kappa = pl.read_parquet(fusion / "kappa.parquet")
    nets = pl.read_parquet(fusion / "networks.parquet")
    return {
        "n": cohorts.height, "events": int(cohorts["outcome"].sum()),
        "cohorts": {c: int(v) for c, v in cohorts["cohort"].value_counts().iter_rows()},
        "test_auc": {m: _auc_row(auc, "test", m) for m in auc["score"].unique(maintain_order=True)},
        "latent_truth_test_auc": {k: round(latent[k][0], 4) for k in ("auc", "auc_lower", "auc_upper")},
        "validation_auc_combined": _auc_row(auc, "validation", "combined"),
        "auc_by_cohort": _aucs(auc),
        "deep_signature_folds": run.get("deep_signature_folds"),
        "fold_network_seconds": float(run.get("fold_network_seconds", 0)),
        "winner": run["winner"], "preset": run["preset"], "network": run["network"],
        "readers_test_accuracy": {r["reader"]: round(r["accuracy"], 4) for r in readers.iter_rows(named=True)},
        "surgeons_kappa_test": round(kappa["kappa"][0], 4) if kappa.height else None,
        "networks": nets.select("roi", "parameters", "best_epoch", "best_validation_auc", "seconds",
                                *[c for c in ("fold_networks", "fold_seconds") if c in nets.columns]).to_dicts(),
        "fusion_stage_s": float(run["seconds"]),
        "run_report_wall_s": None if wall_s is None else round(wall_s, 1),
        "run_report_cpu_s": None if cpu_s is None else round(cpu_s, 1),
        "cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "throughput_3d": json.loads(THROUGHPUT.read_text())["throughput"],
        "throughput_source": "bench/results/classify3d.json (bench/classify3d.py)",
    }


def per_seed(folder: Path) -> dict:
    """The compact record of one seed: every model's AUC per cohort (the latent truth's in the
    test cohort), the winner and the clinical factors chosen."""
    fusion = folder / "out" / "fusion"
    aucs = _aucs(pl.read_parquet(fusion / "auc.parquet"))
    latent = _latent(folder, pl.read_parquet(fusion / "cohorts.parquet"))
    aucs["test"]["latent_truth"] = round(latent["auc"][0], 4)
    run = dict(pl.read_parquet(fusion / "run.parquet").iter_rows())
    return {"auc": aucs, "winner": run["winner"], "clinical_selected": run.get("clinical_selected")}


def spread(by_seed: dict[int, dict]) -> dict:
    """cohort -> model -> mean and SD of the AUC over seeds."""
    out: dict[str, dict] = {}
    for rec in by_seed.values():
        for cohort, scores in rec["auc"].items():
            for model, value in scores.items():
                out.setdefault(cohort, {}).setdefault(model, []).append(value)
    return {c: {m: {"mean": round(statistics.fmean(xs), 4),
                    "sd": round(statistics.stdev(xs), 4) if len(xs) > 1 else None, "n": len(xs)}
                for m, xs in by_model.items()} for c, by_model in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", type=Path, help="a demo folder already run (skips the run)")
    p.add_argument("--wall-s", type=float, help="the timed wall seconds of that run")
    p.add_argument("--cpu-s", type=float, help="the timed CPU seconds of that run")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="demo seeds; the first is summarised in full, all in by_seed and spread")
    args = p.parse_args()
    if args.study:
        result = summarise(args.study, args.wall_s, args.cpu_s)
    else:
        by_seed = {}
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                folder = Path(tmp) / f"zou{seed}"
                wall, cpu = run_demo(folder, args.n, seed)
                if seed == args.seeds[0]:
                    result = summarise(folder, wall, cpu) | {"seed": seed}
                by_seed[seed] = per_seed(folder) | {"run_report_wall_s": round(wall, 1)}
        if len(by_seed) > 1:
            result |= {"by_seed": by_seed, "spread": spread(by_seed)}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
