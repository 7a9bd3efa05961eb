"""UCTransNet architecture, checkpoints and the deep-feature / Grad-CAM hooks."""

import pytest
import torch

from spinedlr.segment.checkpoint import load_model, save_checkpoint
from spinedlr.segment.model import ModelConfig, UCTransNet, count_parameters


@pytest.fixture(scope="module")
def reference_model():
    return UCTransNet(ModelConfig(base_channel=64, img_size=224, in_channels=1, n_classes=1))


def test_reference_configuration_has_66_43_million_parameters(reference_model):
    assert round(count_parameters(reference_model) / 1e6, 2) == 66.43


def test_transformer_and_cca_carry_their_share_of_parameters(reference_model):
    # KV_size = 64+128+256+512 = 960; the CCT's key and value projections alone hold
    # 4 layers x 4 heads x 2 x 960^2 weights: proof that keys/values span all four scales.
    model = reference_model
    assert model.config.kv_size == 960
    kv = sum(p.numel() for n, p in model.mtc.named_parameters() if ".key." in n or ".value." in n)
    assert kv == 4 * 4 * 2 * 960 * 960
    cca = sum(p.numel() for n, p in model.named_parameters() if ".coatt." in n)
    assert cca == sum(2 * (c * c + c) for c in (512, 256, 128, 64))


@pytest.mark.parametrize("n_classes", [1, 4])
def test_output_and_down4_shapes(n_classes):
    cfg = ModelConfig(in_channels=2, n_classes=n_classes, base_channel=8, img_size=64)
    model = UCTransNet(cfg).eval()
    x = torch.randn(3, 2, 64, 64)
    with torch.inference_mode():
        assert model(x).shape == (3, n_classes, 64, 64)
        assert model.features_down4(x).shape == (3, 64, 4, 4)


def test_gradcam_layer_output_is_features_down4_and_gets_gradients():
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=8, img_size=64, n_classes=3)).eval()
    seen = {}
    model.gradcam_layer.register_forward_hook(lambda m, i, o: seen.__setitem__("act", o))
    model.gradcam_layer.register_full_backward_hook(lambda m, gi, go: seen.__setitem__("grad", go[0]))
    x = torch.randn(1, 1, 64, 64)
    model(x)[:, 1].sum().backward()
    assert torch.allclose(seen["act"], model.features_down4(x))
    assert seen["grad"].shape == seen["act"].shape and seen["grad"].abs().sum() > 0


def test_img_size_must_fit_patch_sizes():
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(img_size=100)


def test_checkpoint_roundtrip_loads_weights_only(tmp_path):
    torch.manual_seed(1)
    model = UCTransNet(ModelConfig(base_channel=8, img_size=32, n_classes=3)).eval()
    meta = {"roi": "muscle", "labels": {1: "a", 2: "b"}, "label_values": [1, 2], "slice_axis": 0,
            "normalisation": {"method": "percentile_minmax"}}
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, meta, epoch=3)
    torch.load(path, weights_only=True)  # must not need pickled classes
    loaded, got = load_model(path)
    assert got["labels"] == {1: "a", 2: "b"} and got["epoch"] == 3 and got["roi"] == "muscle"
    x = torch.randn(2, 1, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
