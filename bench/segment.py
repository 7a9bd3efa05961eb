"""Segmentation benchmark: throughput per precision at both presets and the real-data proof.

    python -m bench.segment [--presets cpu paper] [--warmup 3] [--steps 6] [--device cpu]
        [--budget-min 30] [--rois disc muscle] [--precisions fp32 bf16] [--compile-trial]
        [--skip-real] [--skip-throughput]

Writes into bench/results/segment.json, keeping the entries it does not produce:
- ``precision_throughput_<device>``: per preset, training and inference images/s of fp32 and
  every lower precision the device supports (bf16 on CPU; bf16 and fp16 on CUDA, where the
  batch is 32), channels-last, steps interleaved so each variant sees the same background
  load; speed-ups against fp32; peak memory of one step, each variant in a fresh process.
  (``throughput``: the earlier eager vs channels-last comparison, 2026-11-23.)
- ``torch_compile_cpu`` (``--compile-trial``): compile time of the training and inference
  graphs and compiled vs eager training throughput at the cpu preset.
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
from spinedlr.segment.precision import autocast, grad_scaler, resolve_precision
from spinedlr.segment.predict import predict_volume
from spinedlr.segment.settings import PRESETS, SegmentSettings
from spinedlr.segment.train import configure_threads, resolve_device, train_model, train_step

RESULTS = Path(__file__).parent / "results" / "segment.json"
console = Console(stderr=True)


def variants(device: torch.device, contiguous: bool) -> list[tuple[str, bool]]:
    """(precision, channels_last) pairs compared: fp32, then every lower precision the device
    supports, all channels-last (the default); with ``contiguous`` also fp32 without it."""
    lower = [p for p in ("bf16", "fp16") if p == "bf16" or device.type == "cuda"]
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        lower.remove("bf16")
    return [*([("fp32", False)] if contiguous else []), ("fp32", True), *((p, True) for p in lower)]


def _net(preset: str, channels_last: bool, device: torch.device) -> UCTransNet:
    p = PRESETS[preset]
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=p.base_channel, img_size=p.img_size, n_classes=6))
    return model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _batch(preset: str, batch: int, channels_last: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    size = PRESETS[preset].img_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 1, size, size, generator=gen).to(device)
    y = torch.randint(0, 6, (batch, size, size), generator=gen).to(device)
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format), y


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _infer_step(model, x, precision: str, device: torch.device) -> None:
    with torch.inference_mode(), autocast(precision, device):
        model(x).float()


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that over
    from the parent across fork and exec, so a fresh child would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (CPU peak memory needs Linux)")


def peak_memory(preset: str, batch: int, precision: str, channels_last: bool, device: str) -> dict:
    """Peak memory of one inference step, then one training step, in a fresh process.

    CPU: the process's peak resident set above its size after importing torch,
    model and optimiser state included; inference is measured first, as its peak would be
    hidden behind training's. CUDA: torch's peak allocated memory for each.
    """
    dev = torch.device(device)
    base = _peak_rss_mb()
    model = _net(preset, channels_last, dev)
    x, y = _batch(preset, batch, channels_last, dev)
    model.eval()
    _infer_step(model, x, precision, dev)
    _sync(dev)
    if dev.type == "cuda":
        infer = torch.cuda.max_memory_allocated(dev) / 2**20
        torch.cuda.reset_peak_memory_stats(dev)
    else:
        infer = _peak_rss_mb() - base
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    train_step(model, opt, grad_scaler(precision, dev), x, y, precision, dev)
    _sync(dev)
    if dev.type == "cuda":
        train = torch.cuda.max_memory_allocated(dev) / 2**20
    else:
        train = _peak_rss_mb() - base
    return {"train_peak_MB": round(train), "infer_peak_MB": round(infer)}


def throughput(
    preset: str, batch: int, warmup: int, steps: int, device: torch.device, contiguous: bool = False
) -> dict:
    """Training and inference images/s of every variant, steps interleaved.

    Interleaving (variant A step, variant B step, ...) exposes each variant to the same
    background load, so their ratios are fair on a shared machine even when the absolute
    numbers move. The first ``warmup`` rounds are not timed (oneDNN primitive caches).
    """
    runs = variants(device, contiguous)
    models = {v: _net(preset, v[1], device) for v in runs}
    opts = {v: torch.optim.Adam(m.parameters(), lr=PRESETS[preset].lr) for v, m in models.items()}
    scalers = {v: grad_scaler(v[0], device) for v in runs}
    data = {v: _batch(preset, batch, v[1], device) for v in runs}
    load_start = os.getloadavg()
    train_s = dict.fromkeys(runs, 0.0)
    infer_s = dict.fromkeys(runs, 0.0)
    for m in models.values():
        m.train()
    for i in range(warmup + steps):
        for v in runs:
            t = time.perf_counter()
            train_step(models[v], opts[v], scalers[v], *data[v], v[0], device)
            _sync(device)
            train_s[v] += (time.perf_counter() - t) * (i >= warmup)
    for m in models.values():
        m.eval()
    for i in range(warmup + steps):
        for v in runs:
            t = time.perf_counter()
            _infer_step(models[v], data[v][0], v[0], device)
            _sync(device)
            infer_s[v] += (time.perf_counter() - t) * (i >= warmup)
    rows = []
    base = ("fp32", True)
    for v in runs:
        row = {
            "precision": v[0], "channels_last": v[1],
            "train_images_per_s": round(steps * batch / train_s[v], 3),
            "infer_images_per_s": round(steps * batch / infer_s[v], 3),
            "train_speedup_vs_fp32": round(train_s[base] / train_s[v], 2),
            "infer_speedup_vs_fp32": round(infer_s[base] / infer_s[v], 2),
        }
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row.update(pool.submit(peak_memory, preset, batch, v[0], v[1], str(device)).result())
        rows.append(row)
        console.print(preset, row)
    return {
        "preset": preset, "batch": batch, "device": str(device), "torch_threads": torch.get_num_threads(),
        "warmup_rounds": warmup, "timed_rounds": steps,
        "params_M": round(count_parameters(next(iter(models.values()))) / 1e6, 3),
        "load_average_at_start": load_start, "load_average_at_end": os.getloadavg(),
        "speedups_relative_to": "fp32, channels-last (the default memory format)",
        "variants": rows,
    }


def compile_trial(preset: str, batch: int, steps: int, budget_min: float = 30.0) -> dict:
    """Does ``torch.compile`` pay for its compile time within a ``budget_min`` training run?

    Eager and compiled copies of the network (default precision, channels-last) take
    interleaved training steps; the compiled model's first training step and first
    inference step (a second graph: BatchNorm in eval mode) are its compile cost.
    """
    device = torch.device("cpu")
    precision = resolve_precision("auto", device)
    eager = _net(preset, True, device)
    compiled = _net(preset, True, device)
    opts = {m: torch.optim.Adam(m.parameters(), lr=1e-4) for m in (eager, compiled)}
    x, y = _batch(preset, batch, True, device)
    net = {"eager": eager, "compiled": torch.compile(compiled)}
    scaler = grad_scaler(precision, device)
    t = time.perf_counter()
    train_step(net["compiled"], opts[compiled], scaler, x, y, precision, device)
    compile_train_s = time.perf_counter() - t
    net["compiled"].eval()
    t = time.perf_counter()
    _infer_step(net["compiled"], x, precision, device)
    compile_eval_s = time.perf_counter() - t
    net["compiled"].train()
    train_step(eager, opts[eager], scaler, x, y, precision, device)  # eager warm-up
    spent = {"eager": 0.0, "compiled": 0.0}
    for _ in range(steps):
        for name, model in net.items():
            t = time.perf_counter()
            train_step(model, opts[eager if name == "eager" else compiled], scaler, x, y, precision, device)
            spent[name] += time.perf_counter() - t
    eager_ips, compiled_ips = steps * batch / spent["eager"], steps * batch / spent["compiled"]
    budget = budget_min * 60
    cost = compile_train_s + compile_eval_s
    return {
        "preset": preset, "batch": batch, "precision": precision, "timed_rounds": steps,
        "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(),
        "compile_train_step_s": round(compile_train_s, 1), "compile_eval_step_s": round(compile_eval_s, 1),
        "eager_train_images_per_s": round(eager_ips, 2), "compiled_train_images_per_s": round(compiled_ips, 2),
        f"images_in_{budget_min:g}_min_eager": round(budget * eager_ips),
        f"images_in_{budget_min:g}_min_compiled": round(max(0.0, budget - cost) * compiled_ips),
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


def save(update: dict, under: str | None = None) -> None:
    """Merge ``update`` into the results file (into its ``under`` entry if given), re-read
    just before writing: benchmark runs of different sections may overlap, and each keeps
    the others' entries."""
    result: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    (result.setdefault(under, {}) if under else result).update(update)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {RESULTS}")


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
    ap.add_argument("--device", default="cpu", help="Throughput on this device (cpu, cuda).")
    ap.add_argument("--warmup", type=int, default=3, help="Untimed rounds before the timed ones.")
    ap.add_argument("--steps", type=int, default=6, help="Timed rounds (one step per variant each).")
    ap.add_argument("--presets", nargs="+", choices=["cpu", "paper"], default=["cpu", "paper"])
    ap.add_argument("--contiguous", action="store_true", help="Also time fp32 without channels-last.")
    ap.add_argument("--compile-trial", action="store_true", help="Measure torch.compile (cpu preset).")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = auto, see "
                    "SegmentSettings.num_threads).")
    args = ap.parse_args()
    threads = configure_threads(args.threads)
    machine = {
        "cpu_count": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
        "platform": platform.platform(), "load_average_at_start": os.getloadavg(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    if not args.skip_throughput:
        device = resolve_device(args.device)
        batches = {"cpu": 8, "paper": 4} if device.type == "cpu" else {"cpu": 32, "paper": 32}
        for preset in args.presets:
            row = throughput(preset, batches[preset], args.warmup, args.steps, device, args.contiguous)
            save({preset: {**row, "machine": machine}}, under=f"precision_throughput_{device.type}")
    if args.compile_trial:
        save({"torch_compile_cpu": compile_trial("cpu", 8, args.steps)})
    if not args.skip_real and sample_data.available():
        save(real_runs(args.rois, args.precisions, args.budget_min))


if __name__ == "__main__":
    main()
