"""The trainer reproduces, number for number, what ``train_model`` did before it was split.

The pinned per-epoch losses and validation Dice below were produced by commit 7411fdf
(the single 140-line ``train_model``, before the split into losses / schedule / split /
resume / trainer modules) with ``python tests/test_segment_trainer.py`` on this project's
2-core AVX-512 CPU, torch 2.13.0+cpu, one thread, fp32. On such a CPU the numbers and the
final weights' hash must match exactly; elsewhere (other kernels, other summation order)
the losses must agree to 1e-5 relative, far tighter than any change of shuffling, patch
draws, schedule or resume logic would leave them (those move them in the second digit).

Scenarios: a binary sigmoid head on three patients (slice hold-out) at zoom 1; three
classes on five patients (patient hold-out) at zoom 1.5 with the poly schedule, also
trained for 2 epochs and then resumed to 3; merged labels (``number_by_position``) with
given validation cases, the constant schedule and early stopping.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from spinedlr.segment.checkpoint import read_checkpoint
from spinedlr.segment.data import Case
from spinedlr.segment.settings import NumberByPosition, SegmentSettings
from spinedlr.settings import RuntimeSettings
from spinedlr.segment.train import train_model

TINY = {"img_size": 32, "base_channel": 4, "batch_size": 4, "precision": "fp32", "lr": 1e-2}


def _case(i: int, labels: int) -> Case:
    """A blob (two halves with their own labels when ``labels`` = 2) in noise, 8 x 24 x 28."""
    rng = np.random.default_rng(i)
    z, y, x = np.mgrid[:8, :24, :28]
    blob = ((z - 4) / 3) ** 2 + ((y - 12 - (i % 3 - 1)) / 5) ** 2 + ((x - 14) / 7) ** 2 <= 1
    mask = blob.astype(np.uint8)
    if labels == 2:
        mask[blob & (x >= 14)] = 2
    img = rng.normal(0.4, 0.05, blob.shape) + 0.5 * blob
    return Case(f"p{i}", img[None].astype(np.float32), None, mask)


def _digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _train(out: Path, scenario: str, epochs: int | None = None) -> dict:
    if scenario == "binary":
        cases, labels, kw = [_case(i, 1) for i in range(3)], {1: "disc"}, {}
        settings = SegmentSettings(**TINY, epochs=4)
    elif scenario == "multiclass_zoom":
        cases, labels, kw = [_case(i, 2) for i in range(5)], {1: "left", 2: "right"}, {}
        settings = SegmentSettings(**TINY, epochs=epochs or 3, zoom=1.5)
    else:
        cases, labels = [_case(i, 2) for i in range(3)], {1: "L5", 2: "L4"}
        kw = {"val_cases": [_case(7, 2)], "number_by_position": NumberByPosition(axis=2, first="end")}
        settings = SegmentSettings(**TINY, epochs=4, lr_schedule="constant", patience=1, augment=False)
    res = train_model(
        cases, roi="disc", labels=labels, slice_axis=0, settings=settings, seed=11,
        out_path=out / f"{scenario}.pt", console=Console(quiet=True),
        runtime=RuntimeSettings(num_threads=1), **kw,
    )
    last = read_checkpoint(out / f"{scenario}.last.pt")
    return {
        "history": res.history, "best_epoch": res.best_epoch, "train_images": res.train_images,
        "lr": last["optimizer"]["param_groups"][0]["lr"], "hash": _digest(last["state_dict"]),
    }


def _run_all(tmp: Path) -> dict:
    out = {name: _train(tmp / name, name) for name in ("binary", "multiclass_zoom", "merged_constant")}
    _train(tmp / "resumed", "multiclass_zoom", epochs=2)
    out["resumed"] = _train(tmp / "resumed", "multiclass_zoom", epochs=3)
    return out


PINNED: dict = {  # commit 7411fdf
    'binary': {
        'history': [
            {'epoch': 1, 'train_loss': 1.529172248310513, 'val_loss': 1.5725212097167969, 'val_dice': 0.0},
            {'epoch': 2, 'train_loss': 1.384470608499315, 'val_loss': 1.491059382756551, 'val_dice': 0.7571801566579635},
            {'epoch': 3, 'train_loss': 1.2958801057603624, 'val_loss': 1.393453598022461, 'val_dice': 0.922077922077922},
            {'epoch': 4, 'train_loss': 1.238834646013048, 'val_loss': 1.3472809791564941, 'val_dice': 0.8863636363636364},
        ],
        'best_epoch': 3, 'train_images': 72, 'lr': 0.0028717458874925874,
        'hash': '1c256080df849540',
    },
    'multiclass_zoom': {
        'history': [
            {'epoch': 1, 'train_loss': 1.872978389263153, 'val_loss': 1.9348745346069336, 'val_dice': 0.04483278095811991},
            {'epoch': 2, 'train_loss': 1.5553631037473679, 'val_loss': 1.8317235708236694, 'val_dice': 0.07547965422728231},
            {'epoch': 3, 'train_loss': 1.4229941070079803, 'val_loss': 1.4711834192276, 'val_dice': 0.587646530252454},
        ],
        'best_epoch': 3, 'train_images': 96, 'lr': 0.003720410580113015,
        'hash': '9d58b06dacc50b39',
    },
    'merged_constant': {
        'history': [
            {'epoch': 1, 'train_loss': 1.5121800700823467, 'val_loss': 1.5211482048034668, 'val_dice': 0.0},
            {'epoch': 2, 'train_loss': 1.3198830485343933, 'val_loss': 1.380584180355072, 'val_dice': 0.9221902017291066},
            {'epoch': 3, 'train_loss': 1.2300490538279216, 'val_loss': 1.2048980593681335, 'val_dice': 0.8807339449541285},
        ],
        'best_epoch': 2, 'train_images': 72, 'lr': 0.01,
        'hash': 'b1f6d8ac99c64e5f',
    },
    'resumed': {
        'history': [
            {'epoch': 1, 'train_loss': 1.872978389263153, 'val_loss': 1.9348745346069336, 'val_dice': 0.04483278095811991},
            {'epoch': 2, 'train_loss': 1.5720497518777847, 'val_loss': 1.7930652499198914, 'val_dice': 0.0967741935483871},
            {'epoch': 3, 'train_loss': 1.4597860127687454, 'val_loss': 1.4889296889305115, 'val_dice': 0.5788303343213123},
        ],
        'best_epoch': 3, 'train_images': 32, 'lr': 0.003720410580113015,
        'hash': '1d66f2e0c477f90f',
    },
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    threads = torch.get_num_threads()
    try:
        yield _run_all(tmp_path_factory.mktemp("trainer"))
    finally:
        torch.set_num_threads(threads)


def _exact_machine() -> bool:
    return torch.backends.cpu.get_cpu_capability() == "AVX512" and torch.__version__ == "2.13.0+cpu"


@pytest.mark.parametrize("scenario", ["binary", "multiclass_zoom", "merged_constant", "resumed"])
def test_training_matches_the_code_before_the_split(runs, scenario):
    got, want = runs[scenario], PINNED[scenario]
    assert [r["epoch"] for r in got["history"]] == [r["epoch"] for r in want["history"]]
    assert (got["best_epoch"], got["train_images"]) == (want["best_epoch"], want["train_images"])
    assert got["lr"] == pytest.approx(want["lr"], rel=1e-12)
    for g, w in zip(got["history"], want["history"]):
        for key in ("train_loss", "val_loss", "val_dice"):
            assert g[key] == pytest.approx(w[key], rel=1e-5), (g["epoch"], key)
    if _exact_machine():
        assert got["history"] == want["history"]
        assert got["hash"] == want["hash"]


if __name__ == "__main__":  # print the numbers to pin (run on the code they must stay equal to)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        json.dump(_run_all(Path(tmp)), sys.stdout, indent=1)
