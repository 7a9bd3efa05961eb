"""The reference study's numbers do not move when the code around them is reorganised.

A small demo cohort (40 patients, fast PyRadiomics parameters, no segmentation network) runs
through extract → select → evaluate, and every patient's Radscores plus the report's key
numbers (Table 2 AUCs, the full-pipeline validated AUCs, the selection funnel, the Radscore
formulas, and what the report prints: headline AUCs, Table 3 as displayed, cohort counts) are
compared with ``tests/data/reference_pins.json``. The pins were written by the code *before*
the stage-contract refactor of issue 14 (main at 50b5926, with the runtime options at their
old places), so this test is what says the refactor changed no result.

Rebuild the pins on purpose (a change that is meant to move the numbers) with
``python tests/test_reference_pins.py --write``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "tests" / "data" / "reference_pins.json"
FAST_PARAMS = ROOT / "tests" / "data" / "fast_radiomics.yaml"
N, EVENTS, SEED = 40, 14, 7
DIGITS = 9  # a different platform's BLAS may move the last bits, never the 9th decimal


def _fast_study(folder: Path) -> Path:
    """The demo study with settings that decide only run time made small."""
    from spinedlr.demo.generate import write_demo_study

    write_demo_study(folder, n=N, events=EVENTS, seed=SEED)
    cfg = yaml.safe_load((folder / "study.yaml").read_text())
    cfg["covariates"] = [c for c in cfg["covariates"] if c["name"] in {"age", "duration", "pfirrmann"}]
    cfg["segment"]["enabled"] = False
    cfg["extract"].update(params=str(FAST_PARAMS))
    cfg["runtime"].update(workers=1, validation_workers=1)
    cfg["select"].update(validation_repeats=1, validation_folds=3,
                         mrmr_k_grid=[2, 4, 6], lasso_folds=3, svm_rfe_folds=3, mrmr_folds=3)
    cfg["evaluate"].update(boot_n=20, calibration_b=20, pauc_boot_n=20, folds=3, loocv=False,
                           thresholds=[0.1, 0.3, 0.5])
    (folder / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder / "study.yaml"


def _rounded(df: pl.DataFrame) -> list[dict]:
    return [{k: (round(v, DIGITS) if isinstance(v, float) else v) for k, v in row.items()}
            for row in df.iter_rows(named=True)]


def compute_pins(folder: Path) -> dict:
    """Run the fast reference study in ``folder`` and collect the numbers that are pinned."""
    from spinedlr.config import load_study
    from spinedlr.pipeline import run_pipeline

    study = load_study(_fast_study(folder))
    run_pipeline(study)
    out = study.output
    radscores = pl.read_parquet(out / "radscores.parquet").sort("patient_id")
    t2 = pl.read_parquet(out / "stats" / "table2.parquet").select(
        "score", "model", "auc", "auc_lower", "auc_upper").sort("score", "model")
    val = pl.read_parquet(out / "selection" / "validation.parquet").select(
        "method", "score", "model", "auc").sort("method", "score", "model")
    steps = pl.read_parquet(out / "selection" / "steps.parquet")
    formulas = {f.name: json.loads(f.read_text())
                for f in sorted((out / "selection").glob("radscore_*.json"))}
    return {
        "report": _report_numbers(study, folder / "report_data"),
        "radscores": _rounded(radscores),
        "table2": _rounded(t2),
        "validation": _rounded(val),
        "steps": _rounded(steps),
        "formulas": {name: {"features": f.get("features"),
                            "intercept": round(f["intercept"], DIGITS) if "intercept" in f else None}
                     for name, f in formulas.items()},
    }


def _report_numbers(study, dest: Path) -> dict:
    """What the report prints: the headline AUCs, Table 3 as displayed, the cohort counts."""
    from spinedlr.report.data import prepare_report_data

    prepare_report_data(study, dest)
    meta = json.loads((dest / "study.json").read_text())
    out = {k: meta[k] for k in ("n_patients", "n_events", "adjusted_parameters", "rois",
                                "interaction", "outcome", "comparator")}
    for name in ("headline_auc", "table3_display", "radscore_formulas", "stats_table2"):
        out[name] = _rounded(pl.read_csv(dest / f"{name}.csv"))
    return out


def _close(a, b, path: str = "") -> list[str]:
    """Differences between two pinned structures (floats to 1e-7 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))} differ"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items, pinned {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _close(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if abs(a - b) <= 1e-7 * max(1.0, abs(b)) else [f"{path}: {a} != pinned {b}"]
    return [] if a == b else [f"{path}: {a!r} != pinned {b!r}"]


@pytest.mark.slow
def test_reference_demo_gives_the_pinned_radscores_and_report_numbers(tmp_path: Path) -> None:
    pinned = json.loads(PINS.read_text())
    now = json.loads(json.dumps(compute_pins(tmp_path / "demo")))  # same types as the file
    diffs = _close(now, pinned)
    assert not diffs, "\n".join(diffs[:20])


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python tests/test_reference_pins.py --write [PINS.json]")
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else PINS
    with tempfile.TemporaryDirectory() as tmp:
        target.write_text(json.dumps(compute_pins(Path(tmp) / "demo"), indent=1) + "\n")
    print(f"wrote {target}")
