"""Segmentation throughput: training and inference images/s per precision, and peak memory.

    python -m bench.segment_throughput [--device cpu|cuda] [--presets cpu paper] [--warmup 3]
        [--steps 6] [--contiguous] [--compile-trial] [--threads 0]

Imports only the light path of the segmentation package (the network, ``steps.train_step``,
``precision``, ``runtime``, the presets: torch and pydantic), so it runs on a GPU machine
that has torch but not polars, SimpleITK or scipy. ``python -m bench.segment`` runs it too,
before its real-data runs.

Writes into bench/results/segment.json, keeping the entries it does not produce:
- ``precision_throughput_<device>``: per preset, training and inference images/s of fp32 and
  every lower precision the device supports (bf16 on CPU; bf16 and fp16 on CUDA, where the
  batch is 32), channels-last, steps interleaved so each variant sees the same background
  load; speed-ups against fp32; peak memory of one step, each variant in a fresh process.
  (``throughput``: the earlier eager vs channels-last comparison, 2026-11-23.)
- ``torch_compile_cpu`` (``--compile-trial``): compile time of the training and inference
  graphs and compiled vs eager training throughput at the cpu preset.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from bench.segment_results import save
from spinedlr.segment.model import ModelConfig, UCTransNet, count_parameters
from spinedlr.segment.precision import autocast, grad_scaler, resolve_precision
from spinedlr.segment.runtime import configure_threads, resolve_device
from spinedlr.segment.settings import PRESETS
from spinedlr.segment.steps import train_step


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
        print(preset, row, file=sys.stderr)
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


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The throughput options (``bench.segment`` offers the same ones)."""
    ap.add_argument("--device", default="cpu", help="Throughput on this device (cpu, cuda).")
    ap.add_argument("--warmup", type=int, default=3, help="Untimed rounds before the timed ones.")
    ap.add_argument("--steps", type=int, default=6, help="Timed rounds (one step per variant each).")
    ap.add_argument("--presets", nargs="+", choices=["cpu", "paper"], default=["cpu", "paper"])
    ap.add_argument("--contiguous", action="store_true", help="Also time fp32 without channels-last.")
    ap.add_argument("--compile-trial", action="store_true", help="Measure torch.compile (cpu preset).")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = auto, see "
                    "RuntimeSettings.num_threads).")


def machine(threads: int) -> dict:
    """What the numbers were measured on, saved beside each preset's row."""
    return {
        "cpu_count": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
        "platform": platform.platform(), "load_average_at_start": os.getloadavg(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def run(args: argparse.Namespace, with_throughput: bool = True) -> None:
    """Time every preset on ``args.device`` (batch 8 / 4 on CPU, 32 on a GPU) and save each
    as it finishes; then the torch.compile trial if asked for."""
    threads = configure_threads(args.threads)
    if with_throughput:
        info = machine(threads)
        device = resolve_device(args.device)
        batches = {"cpu": 8, "paper": 4} if device.type == "cpu" else {"cpu": 32, "paper": 32}
        for preset in args.presets:
            row = throughput(preset, batches[preset], args.warmup, args.steps, device, args.contiguous)
            save({preset: {**row, "machine": info}}, under=f"precision_throughput_{device.type}")
    if args.compile_trial:
        save({"torch_compile_cpu": compile_trial("cpu", 8, args.steps)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    run(ap.parse_args())


if __name__ == "__main__":
    main()
