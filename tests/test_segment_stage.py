"""The segment stage on a tiny synthetic study: outputs, resume determinism, bad input, CLI."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
import torch
import yaml
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.config import Roi
from spinedlr.errors import ConfigError, InputError
from spinedlr.segment import train as train_module
from spinedlr.segment.checkpoint import load_model, read_checkpoint
from spinedlr.segment.settings import NumberByPosition
from spinedlr.segment.stage import check_model_fits, run, train_study, training_rows

SEGMENT = {"epochs": 3, "img_size": 32, "base_channel": 4, "batch_size": 4, "augment": True}


def _volume(rng: np.random.Generator, shift: int) -> tuple[np.ndarray, np.ndarray]:
    z, y, x = np.mgrid[:8, :24, :28]
    blob = ((z - 4) / 3) ** 2 + ((y - 12 - shift) / 5) ** 2 + ((x - 14) / 7) ** 2 <= 1
    img = rng.normal(50, 5, blob.shape) + 60 * blob
    return img.astype(np.float32), blob.astype(np.uint8)


def make_study(
    root: Path, bad_label: bool = False, epochs: int = 3, zoom: float = 1.0, threads: int = 0
) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):
        img, mask = _volume(rng, shift=i - 1)
        if bad_label and i == 2:
            mask[mask == 1] = 7
        for arr, name in ((img, f"p{i}_img.nii.gz"), (mask, f"p{i}_mask.nii.gz")):
            im = sitk.GetImageFromArray(arr)
            im.SetSpacing((0.7, 0.8, 2.5))
            im.SetOrigin((1.0, 2.0, 3.0))
            sitk.WriteImage(im, str(root / name))
        rows.append({"patient_id": f"p{i}", "recurrence": i % 2, "disc_image": f"p{i}_img.nii.gz",
                     "disc_mask_rater1": f"p{i}_mask.nii.gz"})
    pl.DataFrame(rows).write_csv(root / "manifest.csv")
    cfg = {
        "covariates": [], "comparator": None, "seed": 7,
        "rois": [{"name": "disc", "image": "disc_image", "masks": {"rater1": "disc_mask_rater1"},
                  "slice_axis": 0, "labels": {1: "disc"}}],
        "segment": {**SEGMENT, "epochs": epochs, "zoom": zoom},
        "runtime": {"num_threads": threads},
    }
    (root / "study.yaml").write_text(yaml.safe_dump(cfg))
    return root / "study.yaml"


@pytest.mark.slow
def test_run_writes_models_masks_and_metrics(tmp_path):
    path = make_study(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["segment"]["max_train_patients"] = 2  # one patient the network never sees
    path.write_text(yaml.safe_dump(cfg))
    study = load_study(path)
    metrics = run(study)
    out = study.output
    table = pl.read_parquet(out / "segmentation" / "metrics.parquet")
    assert table.columns == ["patient_id", "roi", "label", "label_name", "dice", "hd95_mm", "trained_on"]
    assert table.height == 3 and table["label_name"].to_list() == ["disc"] * 3
    seen = {f"p{j}" for j in training_rows(study, 3)}
    assert len(seen) == 2 and set(table.filter("trained_on")["patient_id"]) == seen
    assert table.equals(metrics)
    for pid in ("p0", "p1", "p2"):
        pred = sitk.ReadImage(str(out / "masks" / "disc" / f"{pid}.nii.gz"))
        ref = sitk.ReadImage(str(tmp_path / f"{pid}_img.nii.gz"))
        assert pred.GetSize() == ref.GetSize() and np.allclose(pred.GetSpacing(), ref.GetSpacing())
        assert np.allclose(pred.GetOrigin(), ref.GetOrigin())
    model, meta = load_model(out / "models" / "disc.pt")
    assert meta["labels"] == {1: "disc"} and model.config.n_classes == 1
    # the table agrees with an independent Dice computation on one case
    p = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "masks" / "disc" / "p1.nii.gz"))) == 1
    t = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "p1_mask.nii.gz"))) == 1
    expected = 2 * (p & t).sum() / (p.sum() + t.sum())
    assert table.filter(pl.col("patient_id") == "p1")["dice"][0] == pytest.approx(expected)


class Crash(Exception):
    """Stands in for a killed process: raised right after a checkpoint of the given epoch."""


def crash_after_epoch(monkeypatch, epoch: int) -> None:
    real = train_module.save_checkpoint

    def save_then_crash(path, model, meta, **extra):
        real(path, model, meta, **extra)
        if path.name.endswith(".last.pt") and extra["epoch"] == epoch:
            raise Crash

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_crash)


@pytest.mark.slow
@pytest.mark.parametrize("zoom", [1.0, 1.5])
def test_resumed_training_equals_uninterrupted(tmp_path, monkeypatch, zoom):
    """A run killed after epoch 2 of 3 and started again ends where the uninterrupted run
    does (learning-rate schedule, shuffling and, when zoomed, patch draws included). The
    thread count is pinned: with ``auto`` a busy machine may give the two runs different
    counts, and bf16 reductions then round differently."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full = load_study(make_study(tmp_path / "a", epochs=3, zoom=zoom, threads=1))
    train_study(full)
    part = load_study(make_study(tmp_path / "b", epochs=3, zoom=zoom, threads=1))
    with monkeypatch.context() as m:
        crash_after_epoch(m, 2)
        with pytest.raises(Crash):
            train_study(part)
    assert read_checkpoint(part.output / "models" / "disc.last.pt")["epoch"] == 2
    train_study(part)
    a = read_checkpoint(full.output / "models" / "disc.last.pt")
    b = read_checkpoint(part.output / "models" / "disc.last.pt")
    assert b["epoch"] == 3 and len(b["history"]) == 3
    # poly schedule of the cpu preset (lr 1e-3): epoch 3 of 3 ran at 1e-3 x (1 - 2/3)^0.9
    assert b["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * (1 / 3) ** 0.9)
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    part = part.override("segment", "another recipe", epochs=4, lr=5e-4)  # no resume
    train_study(part)
    c = read_checkpoint(part.output / "models" / "disc.last.pt")
    assert c["epoch"] == 4 and len(c["history"]) == 4 and c["history"][0] != b["history"][0]


def test_bad_mask_stops_before_writing_anything(tmp_path):
    study = load_study(make_study(tmp_path, bad_label=True))
    with pytest.raises(InputError, match=r"patient p2: mask .*p2_mask.nii.gz holds label\(s\) \[7\]"):
        run(study)
    assert not study.output.exists()


@pytest.mark.slow
def test_cli_train_predict_evaluate(tmp_path):
    path = make_study(tmp_path, epochs=2)
    runner = CliRunner()
    res = runner.invoke(app, ["segment", "train", str(path)])
    assert res.exit_code == 0, res.output
    model = tmp_path / "out" / "models" / "disc.pt"
    pred = tmp_path / "pred" / "p0.nii.gz"
    res = runner.invoke(app, ["segment", "predict", str(model), str(tmp_path / "p0_img.nii.gz"), "-o", str(pred)])
    assert res.exit_code == 0, res.output
    assert sitk.ReadImage(str(pred)).GetSize() == (28, 24, 8)
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "p0.nii.gz").write_bytes((tmp_path / "p0_mask.nii.gz").read_bytes())
    table = tmp_path / "m.parquet"
    res = runner.invoke(app, ["segment", "evaluate", str(pred.parent), str(truth), "--model", str(model), "-o", str(table)])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(table)
    assert got["roi"].to_list() == ["disc"] and got["label_name"].to_list() == ["disc"]
    res = runner.invoke(app, ["segment", "predict", str(model), str(tmp_path / "nope.nii.gz"), "-o", str(pred)])
    assert res.exit_code == 1 and "file not found" in res.output


def test_prediction_refuses_a_model_trained_for_other_labels_or_numbering():
    levels = {1: "L5/S1", 2: "L4/L5"}
    roi = Roi(name="disc", image="img", masks={"rater1": "m"}, labels=levels,
              number_by_position=NumberByPosition(axis=1, first="end"))
    meta = {"roi": "disc", "label_values": [1, 2], "number_by_position": roi.number_by_position.model_dump()}
    check_model_fits(Path("disc.pt"), meta, roi)  # the model it was trained as: accepted
    with pytest.raises(ConfigError, match=r"number_by_position=None; .* number_by_position=\{'axis': 1"):
        check_model_fits(Path("disc.pt"), {**meta, "number_by_position": None}, roi)
    with pytest.raises(ConfigError, match=r"labels=\[1\]; .* labels=\[1, 2\]"):
        check_model_fits(Path("disc.pt"), {**meta, "label_values": [1]}, roi)
    with pytest.raises(ConfigError, match="roi='muscle'"):
        check_model_fits(Path("disc.pt"), {**meta, "roi": "muscle"}, roi)
