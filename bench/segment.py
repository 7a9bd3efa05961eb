"""Segmentation benchmark: throughput per precision at both presets and the real-data proof.

    python -m bench.segment [--presets cpu paper] [--warmup 3] [--steps 6] [--device cpu]
        [--budget-min 30] [--rois disc muscle] [--precisions fp32 bf16] [--compile-trial]
        [--skip-real] [--skip-throughput]

Writes into bench/results/segment.json, keeping the entries it does not produce:
- throughput (``precision_throughput_<device>``, ``torch_compile_cpu``): run by
  ``bench.segment_throughput`` (see there; it also runs alone, with torch only).
- real data (../shared/data/spine_mri): discs trained on two cases and tested on the third
  (one class, levels numbered by position), muscles trained on the cranial block and tested
  on the caudal block, each on the `cpu` preset with a wall-clock training budget (zoom 1.75
  for the 221 px disc slices, i.e. about their own resolution; zoom 2 for the 400 px muscle
  slices; the poly learning-rate schedule runs its course over the budget). By
  default the two ROIs train side by side in two processes with one core each (keys
  ``disc``, ``muscle``); ``--rois disc`` trains one ROI on every core (key ``disc_alone``).
  With several ``--precisions`` every ROI trains in each, all side by side (key
  ``precision_quality_<budget>min``). Dice and HD95 (mm) per label on the unseen data.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from rich.console import Console

from bench import segment_throughput
from bench.segment_results import save
from spinedlr.segment import sample_data
from spinedlr.segment.checkpoint import load_model
from spinedlr.segment.metrics import evaluate_case
from spinedlr.segment.predict import predict_volume
from spinedlr.segment.settings import SegmentSettings
from spinedlr.segment.train import train_model
from spinedlr.settings import RuntimeSettings

console = Console(stderr=True)


def real_run(
    roi: str, budget_s: float, settings: SegmentSettings, threads: int
) -> dict:
    """Train one ROI on its real training data and score it on the held-out data.

    Runs in its own process (both ROIs train side by side, one core each), so it loads its
    own data and sets its own thread count.
    """
    if roi == "disc":
        train_cases, test_case = sample_data.disc_cases()
        labels, numbering = sample_data.DISC_LABELS, sample_data.DISC_NUMBERING
    else:
        m_train, test_case = sample_data.muscle_blocks()
        train_cases, labels, numbering = [m_train], sample_data.MUSCLE_LABELS, None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{roi}.pt"
        res = train_model(
            train_cases, roi=roi, labels=labels, slice_axis=0, settings=settings, seed=20260101,
            out_path=out, resume=False, time_budget_s=budget_s, console=console,
            number_by_position=numbering, runtime=RuntimeSettings(num_threads=threads),
        )
        model, meta = load_model(out)
        t = time.perf_counter()
        pred = predict_volume(
            model, meta, test_case.image, test_case.reference, settings.largest_component,
            precision=settings.precision, channels_last=settings.channels_last,
        )
        predict_s = time.perf_counter() - t
    lut = np.array([0, *sorted(labels)])
    rows = evaluate_case(
        test_case.case_id, roi, sitk.GetArrayFromImage(pred), lut[test_case.mask], labels,
        test_case.reference.GetSpacing(),
    )
    dice = [r["dice"] for r in rows]
    return {
        "train_cases": [c.case_id for c in train_cases], "test_case": test_case.case_id,
        "settings": settings.resolved().model_dump(), "augment": settings.augment,
        "precision": meta["precision"],
        "number_by_position": numbering.model_dump() if numbering else None,
        "torch_threads": threads, "epochs_run": len(res.history),
        "best_epoch": res.best_epoch, "best_val_dice": res.best_dice,
        "train_seconds": round(res.seconds, 1),
        "train_images_per_s": round(res.train_images / res.seconds, 2),
        "predict_seconds": round(predict_s, 2),
        "per_label": rows, "mean_dice": float(np.mean(dice)),
        "mean_hd95_mm": float(np.nanmean([r["hd95_mm"] for r in rows])),
        "history": res.history,
    }


def real_runs(rois: list[str], precisions: list[str], budget_min: float) -> dict:
    """Every (ROI, precision) pair trains side by side, the cores split evenly between them."""
    recipes = {
        "disc": SegmentSettings(preset="cpu", epochs=10_000, zoom=1.75),
        "muscle": SegmentSettings(preset="cpu", epochs=10_000, batch_size=4, zoom=2),
    }
    runs = [(roi, prec) for roi in rois for prec in precisions]
    per_run = max(1, (os.cpu_count() or 1) // len(runs))
    load_start = os.getloadavg()
    with ProcessPoolExecutor(len(runs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            (roi, prec): pool.submit(
                real_run, roi, budget_min * 60, recipes[roi].model_copy(update={"precision": prec}), per_run
            )
            for roi, prec in runs
        }
        done = {run: fut.result() for run, fut in futures.items()}
    for run, res in done.items():
        console.print(run, {k: v for k, v in res.items() if k not in ("history", "per_label")})
    if len(precisions) == 1:
        return {roi if len(rois) > 1 else f"{roi}_alone": done[(roi, precisions[0])] for roi in rois}
    out: dict = {
        "budget_min": budget_min, "cores_per_run": per_run, "runs_side_by_side": len(runs),
        "load_average_at_start": load_start, "load_average_at_end": os.getloadavg(),
    }
    for roi in rois:
        out[roi] = {prec: done[(roi, prec)] for prec in precisions}
        base = out[roi][precisions[0]]["mean_dice"]
        out[roi]["mean_dice_minus_" + precisions[0]] = {
            prec: round(out[roi][prec]["mean_dice"] - base, 4) for prec in precisions[1:]
        }
    return {f"precision_quality_{budget_min:g}min": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=30.0, help="Training minutes per ROI.")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument(
        "--rois", nargs="+", choices=["disc", "muscle"], default=["disc", "muscle"],
        help="Several ROIs train side by side, sharing the cores (results under their names); "
        "a single ROI gets every core (results under '<roi>_alone').",
    )
    ap.add_argument(
        "--precisions", nargs="+", choices=["auto", "fp32", "bf16", "fp16"], default=["auto"],
        help="Real-data precision(s). Several (first = baseline, e.g. fp32 bf16): every ROI "
        "trains in each, all side by side, results under 'precision_quality_<budget>min'.",
    )
    segment_throughput.add_arguments(ap)
    args = ap.parse_args()
    segment_throughput.run(args, with_throughput=not args.skip_throughput)
    if not args.skip_real and sample_data.available():
        save(real_runs(args.rois, args.precisions, args.budget_min))


if __name__ == "__main__":
    main()
