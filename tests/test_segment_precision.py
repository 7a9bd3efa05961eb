"""The `precision` setting: resolution, refusal of fp16 on CPU, bf16 training, checkpoints,
resume and prediction (segment.precision)."""

from pathlib import Path

import pytest
import torch
from rich.console import Console
from test_segment_stage import make_study
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.errors import ConfigError
from spinedlr.segment import steps
from spinedlr.segment.checkpoint import load_model, read_checkpoint
from spinedlr.segment.data import fit, slices
from spinedlr.segment.model import ModelConfig, UCTransNet
from spinedlr.segment.precision import autocast, resolve_precision
from spinedlr.segment.resume import resume_mismatch
from spinedlr.segment.predict import predict_array
from spinedlr.segment.settings import SegmentSettings
from spinedlr.segment.stage import load_roi_cases, train_study
from spinedlr.segment.tiles import sliding_logits

CPU = torch.device("cpu")


def cpu_flags() -> set[str]:
    """The kernel's view of the CPU, independent of torch's own detection."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs Linux /proc/cpuinfo")
def test_auto_is_bf16_exactly_where_the_cpu_has_native_bf16():
    native = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
    assert resolve_precision("auto", CPU) == ("bf16" if native else "fp32")
    assert {resolve_precision("auto", CPU) for _ in range(5)} == {resolve_precision("auto", CPU)}
    assert SegmentSettings().precision == "auto"


def test_explicit_precisions_and_refusals():
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"
    with pytest.raises(ConfigError, match="precision fp16 needs a CUDA device, not cpu: use bf16 or auto"):
        resolve_precision("fp16", CPU)
    with pytest.raises(ValueError, match="precision"):
        SegmentSettings(precision="fp8")


def test_fp16_training_on_cpu_stops_before_any_work(tmp_path):
    study = load_study(make_study(tmp_path)).override("segment", "test", precision="fp16")
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        train_study(study)
    assert not (study.output / "models").exists()


def test_checkpoints_from_before_precision_resume_only_in_fp32():
    cfg = ModelConfig(base_channel=4, img_size=32)
    legacy = {"model_config": cfg.model_dump(mode="json"), "roi": "disc"}  # no "precision" key
    assert resume_mismatch(legacy, cfg, {"roi": "disc", "precision": "fp32"}) == []
    assert resume_mismatch(legacy, cfg, {"roi": "disc", "precision": "bf16"}) == ["precision"]


@pytest.fixture(scope="module")
def bf16_run(tmp_path_factory):
    """Four epochs of the tiny study in bf16, recording the dtypes the network and loss saw."""
    root = tmp_path_factory.mktemp("bf16")
    study = load_study(make_study(root, epochs=4)).override("segment", "test", precision="bf16")
    seen: dict[str, set] = {"net": set(), "loss": set()}
    forward, loss = UCTransNet.forward, steps.seg_loss
    mp = pytest.MonkeyPatch()
    mp.setattr(UCTransNet, "forward", lambda self, x: _record(seen["net"], forward(self, x)))
    mp.setattr(steps, "seg_loss", lambda logits, y: loss(_record(seen["loss"], logits), y))
    try:
        result = train_study(study)["disc"]
    finally:
        mp.undo()
    return study, result, seen


def _record(into: set, t: torch.Tensor) -> torch.Tensor:
    into.add(t.dtype)
    return t


def test_bf16_training_lowers_the_loss_with_fp32_weights_and_loss(bf16_run):
    study, result, seen = bf16_run
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert seen["net"] == {torch.bfloat16}  # the network ran under autocast...
    assert seen["loss"] == {torch.float32}  # ...and the loss got fp32 logits
    ck = read_checkpoint(study.output / "models" / "disc.last.pt")
    assert ck["precision"] == "bf16"
    assert {v.dtype for v in ck["state_dict"].values() if v.is_floating_point()} == {torch.float32}
    assert {s["exp_avg"].dtype for s in ck["optimizer"]["state"].values()} == {torch.float32}


def test_bf16_prediction_agrees_with_fp32(bf16_run):
    study, _, _ = bf16_run
    model, meta = load_model(study.output / "models" / "disc.pt")
    case = load_roi_cases(study, study.config.rois[0], False, Console(quiet=True))[0]
    x, _ = fit(torch.from_numpy(slices(case.image, 0)), model.config.img_size)
    with torch.inference_mode():
        ref = sliding_logits(model, x)
        with autocast("bf16", CPU):
            low = sliding_logits(model, x)
    assert low.dtype == torch.float32 and not torch.equal(low, ref)  # bf16 really ran
    assert (low - ref).abs().max() <= 0.05 * ref.abs().max()
    fp32 = predict_array(model, meta, case.image, precision="fp32")
    bf16 = predict_array(model, meta, case.image, precision="bf16")
    assert fp32.shape == bf16.shape == case.image.shape[1:]
    assert (fp32 == bf16).mean() >= 0.99


def test_cli_predict_refuses_fp16_on_cpu_in_one_line(bf16_run):
    study, _, _ = bf16_run
    model = study.output / "models" / "disc.pt"
    image = study.root / "p0_img.nii.gz"
    res = CliRunner().invoke(app, ["segment", "predict", str(model), str(image), "-o",
                                   str(study.output / "p0.nii.gz"), "--precision", "fp16"])
    assert res.exit_code == 1
    assert "error: precision fp16 needs a CUDA device, not cpu: use bf16 or auto" in res.output
    assert "Traceback" not in res.output and not (study.output / "p0.nii.gz").exists()


def test_checkpoint_reloads_with_its_precision_and_resumes_only_in_it(bf16_run, tmp_path):
    """Runs last: it trains the module's study further."""
    study, result, _ = bf16_run
    _, meta = load_model(study.output / "models" / "disc.pt")
    assert meta["precision"] == "bf16"
    study = study.override("segment", "test", epochs=5)  # same recipe, one more epoch: resumes
    history = train_study(study)["disc"].history
    assert len(history) == 5 and history[:4] == result.history
    study = study.override("segment", "test", precision="fp32", epochs=6)  # another precision
    fresh = read_checkpoint(study.output / "models" / "disc.last.pt")
    train_study(study)
    after = read_checkpoint(study.output / "models" / "disc.last.pt")
    assert after["precision"] == "fp32" and len(after["history"]) == 6
    assert after["history"][0] != fresh["history"][0]  # started over, not continued
