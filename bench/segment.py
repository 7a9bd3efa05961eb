"""Segmentation benchmark: throughput at both presets and the real-data proof.

    python -m bench.segment [--budget-min 30] [--skip-real] [--skip-throughput] [--rois disc muscle]

Writes bench/results/segment.json:
- throughput: training and inference images/s for the `cpu` and `paper` presets (eager
  baseline vs channels-last; inference under torch.inference_mode), at the thread count torch
  uses on this machine;
- real data (../shared/data/spine_mri): discs trained on two cases and tested on the third
  (one class, levels numbered by position), muscles trained on the cranial block and tested
  on the caudal block, each on the `cpu` preset with a wall-clock training budget (zoom 1.75
  for the 221 px disc slices, i.e. about their own resolution; zoom 2 for the 400 px muscle
  slices; the poly learning-rate schedule runs its course over the budget). By
  default the two ROIs train side by side in two processes with one core each (keys
  ``disc``, ``muscle``); ``--rois disc`` trains one ROI on every core (key ``disc_alone``).
  Dice and HD95 (mm) per label on the unseen data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from rich.console import Console

from spinedlr.segment import sample_data
from spinedlr.segment.checkpoint import load_model
from spinedlr.segment.metrics import evaluate_case
from spinedlr.segment.model import ModelConfig, UCTransNet, count_parameters
from spinedlr.segment.predict import predict_volume
from spinedlr.segment.settings import PRESETS, SegmentSettings
from spinedlr.segment.train import configure_threads, seg_loss, train_model

RESULTS = Path(__file__).parent / "results" / "segment.json"
console = Console(stderr=True)


def throughput(preset: str, channels_last: bool, train_batch: int, steps: int) -> dict:
    p = PRESETS[preset]
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=p.base_channel, img_size=p.img_size, n_classes=6))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    x = torch.rand(train_batch, 1, p.img_size, p.img_size).contiguous(memory_format=fmt)
    y = torch.randint(0, 6, (train_batch, p.img_size, p.img_size))
    model.train()
    for i in range(steps + 1):  # first step is warm-up
        if i == 1:
            t = time.perf_counter()
        loss = seg_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    train = steps * train_batch / (time.perf_counter() - t)
    model.eval()
    with torch.inference_mode():
        model(x)
        t = time.perf_counter()
        for _ in range(steps):
            model(x)
        infer = steps * train_batch / (time.perf_counter() - t)
    return {
        "preset": preset, "channels_last": channels_last, "batch": train_batch,
        "params_M": round(count_parameters(model) / 1e6, 3),
        "train_images_per_s": round(train, 2), "infer_images_per_s": round(infer, 2),
    }


def real_run(
    roi: str, budget_s: float, settings: SegmentSettings, threads: int
) -> dict:
    """Train one ROI on its real training data and score it on the held-out data.

    Runs in its own process (both ROIs train side by side, one core each), so it loads its
    own data and sets its own thread count.
    """
    settings = settings.model_copy(update={"num_threads": threads})
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
            number_by_position=numbering,
        )
        model, meta = load_model(out)
        t = time.perf_counter()
        pred = predict_volume(model, meta, test_case.image, test_case.reference, settings.largest_component)
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


def main() -> None:
    threads = configure_threads(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=30.0, help="Training minutes per ROI.")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument(
        "--rois", nargs="+", choices=["disc", "muscle"], default=["disc", "muscle"],
        help="Several ROIs train side by side, sharing the cores (results under their names); "
        "a single ROI gets every core (results under '<roi>_alone').",
    )
    args = ap.parse_args()
    result: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result["machine"] = {
        "cpu_count": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
        "platform": platform.platform(), "load_average_at_start": os.getloadavg(),
    }
    if not args.skip_throughput:
        result["throughput"] = []
        for preset, batch, steps in (("cpu", 8, 4), ("paper", 2, 2)):
            for cl in (False, True):
                row = throughput(preset, cl, batch, steps)
                console.print(row)
                result["throughput"].append(row)
    if not args.skip_real and sample_data.available():
        budget = args.budget_min * 60
        recipes = {
            "disc": SegmentSettings(preset="cpu", epochs=10_000, zoom=1.75),
            "muscle": SegmentSettings(preset="cpu", epochs=10_000, batch_size=4, zoom=2),
        }
        per_run = max(1, (os.cpu_count() or 1) // len(args.rois))
        with ProcessPoolExecutor(len(args.rois), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {roi: pool.submit(real_run, roi, budget, recipes[roi], per_run) for roi in args.rois}
            for roi, fut in futures.items():
                key = roi if len(args.rois) > 1 else f"{roi}_alone"
                result[key] = fut.result()
                console.print({k: v for k, v in result[key].items() if k != "history"})
    result["machine"]["load_average_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
