"""`spinedlr segment train|predict|evaluate|run`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import get_args

import typer

from spinedlr.cli_support import console, friendly, stdout
from spinedlr.outputs import write_atomic
from spinedlr.segment.settings import PRESETS, Precision


app = typer.Typer(help="UCTransNet segmentation: train, predict, evaluate.", no_args_is_help=True)


RoiOpt = typer.Option(None, "--roi", help="ROI name (repeatable); default: every ROI.")
PresetName = Enum("PresetName", {name: name for name in PRESETS}, type=str)
PrecisionName = Enum("PrecisionName", {name: name for name in get_args(Precision)}, type=str)
PresetOpt = typer.Option(None, "--preset", help="Preset of training settings (overrides study.yaml).")
EpochsOpt = typer.Option(None, "--epochs", help="Override the preset's epochs.")
FreshOpt = typer.Option(False, "--fresh", help="Ignore <roi>.last.pt; start from scratch.")


def _study(path: Path, preset: PresetName | None = None, epochs: int | None = None):
    """The study with the command-line overrides, validated like study.yaml, and its files
    checked before training or prediction writes anything."""
    from spinedlr.cli_support import require_valid
    from spinedlr.config import load_study

    study = load_study(path).override("segment", "--preset",
                                      preset=preset.value if preset is not None else None)
    study = study.override("segment", "--epochs", epochs=epochs)
    require_valid(study)
    return study


@app.command()
@friendly
def train(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    roi: list[str] = RoiOpt,
    preset: PresetName = PresetOpt,
    epochs: int = EpochsOpt,
    fresh: bool = FreshOpt,
) -> None:
    """Train one network per ROI on the training rater's masks -> out/models/<roi>.pt."""
    from spinedlr.segment.stage import train_study

    s = _study(study, preset, epochs)
    for name, r in train_study(s, roi or None, resume=not fresh, console=console).items():
        stdout.print(f"[green]{name}:[/] best val Dice {r.best_dice:.4f} at epoch {r.best_epoch} -> {r.best_path}")


@app.command()
@friendly
def predict(
    model: Path = typer.Argument(..., help="Checkpoint (out/models/<roi>.pt)."),
    images: list[Path] = typer.Argument(..., help="Input volume(s): one per input channel."),
    out: Path = typer.Option(..., "--out", "-o", help="Label volume to write (.nii.gz, .nrrd, ...)."),
    largest_component: bool = typer.Option(
        True, "--largest-component/--all-components", help="Keep the largest 3D component per label."
    ),
    device: str = typer.Option(
        "cpu", "--device", help="Torch device to run the network on: cpu, cuda, cuda:1, mps."
    ),
    precision: PrecisionName = typer.Option(
        "auto", "--precision", help="Network arithmetic (see segment.precision); fp16 needs CUDA."
    ),
) -> None:
    """Segment one volume; the output has the input's exact geometry."""
    from spinedlr.errors import InputError
    from spinedlr.imaging import to_array, write_like
    from spinedlr.segment.checkpoint import load_model
    from spinedlr.segment.data import load_image
    from spinedlr.segment.predict import predict_volume

    net, meta = load_model(model, device)
    if len(images) != net.config.in_channels:
        raise InputError(f"{model} expects {net.config.in_channels} input channel(s), got {len(images)} image(s)")
    case = out.name.split(".")[0]
    image, ref = load_image(case, images, 1, int(meta["slice_axis"]))
    pred = predict_volume(net, meta, image, ref, largest_component, precision=precision.value)
    write_like(to_array(pred), ref, out)
    stdout.print(f"[green]wrote[/] {out}", highlight=False)


@app.command()
@friendly
def evaluate(
    pred: Path = typer.Argument(..., help="Predicted label volume, or a folder of them."),
    truth: Path = typer.Argument(..., help="Reference label volume, or a folder with the same file names."),
    model: Path = typer.Option(None, "--model", help="Checkpoint whose label names to use."),
    roi: str = typer.Option("roi", "--roi-name", help="ROI name for the table."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the metrics here (.parquet)."),
) -> None:
    """Dice and HD95 (mm) per case and label, printed and optionally written to Parquet."""
    import numpy as np

    from spinedlr.errors import InputError
    from spinedlr.imaging import Geometry, read_image, to_array
    from spinedlr.segment.checkpoint import read_checkpoint
    from spinedlr.segment.metrics import evaluate_case, metrics_frame
    from spinedlr.segment.stage import summary_table

    if pred.is_dir():
        pairs = [(p, truth / p.name) for p in sorted(pred.glob("*.nii*")) + sorted(pred.glob("*.nrrd"))]
    else:
        pairs = [(pred, truth)]
    if not pairs:
        raise InputError(f"no label volumes in {pred}")
    names = {int(k): v for k, v in read_checkpoint(model)["labels"].items()} if model else None
    rows = []
    for p, t in pairs:
        case = p.name.split(".")[0]
        pi, ti = read_image(p, case), read_image(t, case)
        if (why := Geometry.of(ti).mismatch(Geometry.of(pi))) is not None:
            raise InputError(f"patient {case}: {p} and {t} differ in geometry ({why})")
        pa, ta = to_array(pi), to_array(ti)
        labels = names or {int(v): f"label_{int(v)}" for v in np.union1d(np.unique(pa), np.unique(ta)) if v}
        rows += evaluate_case(case, roi if model is None else read_checkpoint(model)["roi"], pa, ta, labels, ti.GetSpacing())
    table = metrics_frame(rows)
    stdout.print(summary_table(table))
    if out:
        write_atomic(out, table.write_parquet)
        stdout.print(f"[green]wrote[/] {out}", highlight=False)


@app.command("run")
@friendly
def run_cmd(
    study: Path = typer.Argument(..., help="study.yaml (or its folder)."),
    roi: list[str] = RoiOpt,
    preset: PresetName = PresetOpt,
    epochs: int = EpochsOpt,
    fresh: bool = FreshOpt,
) -> None:
    """The whole stage: train, predict every patient into out/masks/<roi>/, evaluate."""
    from spinedlr.segment.stage import run

    run(_study(study, preset, epochs), roi or None, resume=not fresh, console=console)
