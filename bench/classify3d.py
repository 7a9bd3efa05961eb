"""3D classifier throughput: a cpu-preset training epoch and paper-preset steps, fp32 vs bf16.

    python -m bench.classify3d [--patients 32] [--rounds 3] [--paper-steps 2] [--threads 1]

What is timed is what ``Classifier3D.fit`` repeats: ``Trainer.run_epoch`` (the optimiser
steps of one epoch over prepared inputs) and ``infer`` (validation / feature extraction),
on synthetic inputs already cropped and resized (preparing volumes is not the network's cost).
Variants are interleaved round by round, so each sees the same background load of this
shared machine, and the median round is reported.

- cpu preset (64³): ``vit`` and ``resnet3d``, one epoch over ``--patients`` inputs (batch 8).
- paper preset (128³, ViT dim 1024, depth 6): ``--paper-steps`` optimiser steps of batch 2
  after one warm-up step, and inference of the same batch.

Writes bench/results/classify3d.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console

from spinedlr.classify3d.network import parameter_count
from spinedlr.classify3d.settings import Classify3DSettings
from spinedlr.classify3d.train import Trainer, infer, train_step

OUT = Path(__file__).parent / "results" / "classify3d.json"


def _trainer(network: str, preset: str, precision: str, n: int) -> Trainer:
    """A built trainer on ``n`` random inputs (labels alternate), nothing written."""
    s = Classify3DSettings(network=network, preset=preset, precision=precision, num_threads=torch.get_num_threads())
    size = s.resolved().input_size
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, size, size, size, generator=gen)
    y = (torch.arange(n) % 2).float()
    t = Trainer(s, x, y, None, None, None, Console(quiet=True))
    t.build()
    return t


def _cpu_round(t: Trainer) -> dict[str, float]:
    start = time.perf_counter()
    t.run_epoch(1)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    infer(t.net, t.x, t.preset.batch_size, t.device, t.precision)
    infer_s = time.perf_counter() - start
    return {"epoch_s": train_s, "train_images_per_s": len(t.x) / train_s, "infer_images_per_s": len(t.x) / infer_s}


def _paper_round(t: Trainer, steps: int) -> dict[str, float]:
    start = time.perf_counter()
    for _ in range(steps):
        train_step(t.net, t.opt, t.scaler, t.x, t.y, t.precision, t.device)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    infer(t.net, t.x, len(t.x), t.device, t.precision)
    infer_s = time.perf_counter() - start
    return {"train_images_per_s": steps * len(t.x) / train_s, "infer_images_per_s": len(t.x) / infer_s}


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paper-steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    cpu = {(net, p): _trainer(net, "cpu", p, args.patients) for net in ("vit", "resnet3d") for p in ("fp32", "bf16")}
    rows: dict[tuple[str, str], list[dict[str, float]]] = {k: [] for k in cpu}
    for _ in range(args.rounds):
        for key, t in cpu.items():
            rows[key].append(_cpu_round(t))
    results = [{"preset": "cpu", "network": net, "precision": p, "batch": cpu[net, p].preset.batch_size,
                "patients": args.patients, "params": parameter_count(cpu[net, p].net), **_median(r)}
               for (net, p), r in rows.items()]
    paper = {p: _trainer("vit", "paper", p, 2) for p in ("fp32", "bf16")}
    prow: dict[str, list[dict[str, float]]] = {p: [] for p in paper}
    for t in paper.values():
        _paper_round(t, 1)  # warm-up: first-touch allocations, oneDNN kernel selection
    for _ in range(max(1, args.rounds - 1)):
        for p, t in paper.items():
            prow[p].append(_paper_round(t, args.paper_steps))
    results += [{"preset": "paper", "network": "vit", "precision": p, "batch": 2,
                 "params": parameter_count(paper[p].net), **_median(r)} for p, r in prow.items()]
    out = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "platform": platform.platform(), "load_average_at_start": load0,
                    "load_average_at_end": os.getloadavg()},
        "throughput": results,
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
