"""Pretrained backbones (spinedlr.extract.backbones) and their input handling.

The torchvision-layout test builds a state dict with torchvision's parameter names and
shapes, loads it into the MONAI network and compares the features with a hand-written
functional forward pass of torchvision's ResNet50 / ResNeXt50-32x4d (stride-2 stem, stride on
the 3x3 conv, bias-free shortcuts, 32 groups): the key mapping and the architecture must both
match for the numbers to agree. Inputs are tiny (32 px, 16 voxels) so the tests stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spinedlr.errors import ConfigError
from spinedlr.extract.backbone_input import IMAGENET_MEAN, IMAGENET_STD, prepare_batch, region_crop
from spinedlr.extract.backbones import BACKBONES, RANDOM_INIT, build_backbone

LAYERS = [(64, 3), (128, 4), (256, 6), (512, 3)]


def _bn(state: dict, name: str, n: int, g: torch.Generator) -> None:
    state[f"{name}.weight"] = 1 + 0.1 * torch.randn(n, generator=g)
    state[f"{name}.bias"] = 0.1 * torch.randn(n, generator=g)
    state[f"{name}.running_mean"] = 0.1 * torch.randn(n, generator=g)
    state[f"{name}.running_var"] = 1 + torch.rand(n, generator=g)
    state[f"{name}.num_batches_tracked"] = torch.tensor(7)


def torchvision_state(groups: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with torchvision's resnet50 / resnext50_32x4d names and shapes (fc too)."""
    g = torch.Generator().manual_seed(seed)

    def conv(*shape: int) -> torch.Tensor:  # He-scaled, so activations stay O(1) to the end
        return torch.randn(*shape, generator=g) * (2 / np.prod(shape[1:])) ** 0.5

    state = {"conv1.weight": conv(64, 3, 7, 7)}
    _bn(state, "bn1", 64, g)
    inp = 64
    for i, (planes, blocks) in enumerate(LAYERS, start=1):
        width = planes * 2 if groups == 32 else planes
        for j in range(blocks):
            p = f"layer{i}.{j}"
            state[f"{p}.conv1.weight"] = conv(width, inp, 1, 1)
            _bn(state, f"{p}.bn1", width, g)
            state[f"{p}.conv2.weight"] = conv(width, width // groups, 3, 3)
            _bn(state, f"{p}.bn2", width, g)
            state[f"{p}.conv3.weight"] = conv(planes * 4, width, 1, 1)
            _bn(state, f"{p}.bn3", planes * 4, g)
            if j == 0:
                state[f"{p}.downsample.0.weight"] = conv(planes * 4, inp, 1, 1)
                _bn(state, f"{p}.downsample.1", planes * 4, g)
            inp = planes * 4
    state["fc.weight"] = torch.randn(1000, 2048, generator=g)
    state["fc.bias"] = torch.zeros(1000)
    return state


def torchvision_forward(state: dict, x: torch.Tensor, groups: int) -> torch.Tensor:
    """torchvision's ResNet forward, written out with torch.nn.functional, up to avgpool."""
    def bn(t: torch.Tensor, n: str) -> torch.Tensor:
        return F.batch_norm(t, state[f"{n}.running_mean"], state[f"{n}.running_var"],
                            state[f"{n}.weight"], state[f"{n}.bias"], False, 0.0, 1e-5)

    x = F.relu(bn(F.conv2d(x, state["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for i, (_, blocks) in enumerate(LAYERS, start=1):
        for j in range(blocks):
            p, stride = f"layer{i}.{j}", (2 if i > 1 and j == 0 else 1)
            out = F.relu(bn(F.conv2d(x, state[f"{p}.conv1.weight"]), f"{p}.bn1"))
            out = F.relu(bn(F.conv2d(out, state[f"{p}.conv2.weight"], stride=stride, padding=1,
                                     groups=groups), f"{p}.bn2"))
            out = bn(F.conv2d(out, state[f"{p}.conv3.weight"]), f"{p}.bn3")
            if j == 0:
                x = bn(F.conv2d(x, state[f"{p}.downsample.0.weight"], stride=stride),
                       f"{p}.downsample.1")
            x = F.relu(out + x)
    return x.mean(dim=(2, 3))


@pytest.mark.parametrize("name,groups", [("resnet50_2d", 1), ("resnext50_32x4d_2d", 32)])
def test_torchvision_state_dict_loads_and_matches_torchvision(tmp_path, name, groups):
    state = torchvision_state(groups)
    path = tmp_path / "imagenet.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)  # DataParallel-style names
    net = build_backbone(name, 3, 32, weights=path)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    got = net.features(x)
    assert got.shape == (2, 2048) and net.feature_dim == 2048
    torch.testing.assert_close(got, torchvision_forward(state, x, groups), rtol=1e-4, atol=1e-4)
    assert net.weights.startswith("imagenet.pth (sha256 ")


def test_saved_state_dict_round_trips(tmp_path):
    first = build_backbone("resnet18_3d", 1, 16, seed=3)
    assert first.weights == RANDOM_INIT
    path = tmp_path / "r18.pt"
    torch.save(first.model.state_dict(), path)
    again = build_backbone("resnet18_3d", 1, 16, weights=path, seed=99)
    x = torch.randn(2, 1, 16, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first.features(x), again.features(x))
    assert again.weights != RANDOM_INIT and "r18.pt" in again.weights


def test_seed_decides_random_init():
    x = torch.randn(1, 1, 16, 16, 16, generator=torch.Generator().manual_seed(0))
    a, b, c = (build_backbone("resnet18_3d", 1, 16, seed=s).features(x) for s in (5, 5, 6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_wrong_shape_state_dict_is_one_error_naming_the_file(tmp_path):
    state = build_backbone("resnet18_3d", 1, 16).model.state_dict()
    state["conv1.weight"] = torch.zeros(64, 3, 7, 7, 7)  # a 3-channel stem for a 1-channel net
    path = tmp_path / "wrong.pt"
    torch.save(state, path)
    with pytest.raises(ConfigError) as err:
        build_backbone("resnet18_3d", 1, 16, weights=path)
    msg = str(err.value)
    assert str(path) in msg and "wrong shape" in msg and "conv1.weight" in msg
    assert "\n" not in msg


def test_non_state_dict_and_missing_file_are_clear_errors(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ConfigError, match="not a state dict"):
        build_backbone("resnet18_3d", 1, 16, weights=path)
    with pytest.raises(ConfigError, match="not found"):
        build_backbone("resnet18_3d", 1, 16, weights=tmp_path / "absent.pt")


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_feature_dims(name):
    spec = BACKBONES[name]
    size = 32 if spec.spatial_dims == 2 else 16
    net = build_backbone(name, 1, size, seed=0)
    x = torch.randn(2, 1, *(size,) * spec.spatial_dims)
    assert net.features(x).shape == (2, spec.feature_dim)


def test_unknown_backbone_lists_registered_names():
    with pytest.raises(ConfigError) as err:
        build_backbone("resnet51")
    assert all(n in str(err.value) for n in BACKBONES)


def test_imagenet_input_handling_known_values():
    crop = np.arange(12, dtype=np.float32).reshape(3, 4)  # min 0 -> 0.0, max 11 -> 1.0
    batch = prepare_batch([crop], size=4, channels=3, normalize="imagenet")
    assert batch.shape == (1, 3, 4, 4)
    for c in range(3):
        assert batch[0, c].min().item() == pytest.approx((0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
        assert batch[0, c].max().item() == pytest.approx((1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
    z = prepare_batch([crop], size=4, channels=1, normalize="zscore")
    assert z.shape == (1, 1, 4, 4) and abs(z.mean().item()) < 1e-6


def test_region_crop_box_and_whole_image():
    image = np.arange(5 * 20 * 20, dtype=np.float32).reshape(5, 20, 20)
    mask = np.zeros_like(image, dtype=np.uint8)
    mask[2, 5:15, 8:12] = 1  # largest-area slice is 2; box 10 x 4, margin 0.1 -> +1 each side
    assert region_crop(image, mask, 2, 0, 0.1).shape == (12, 6)
    assert region_crop(image, mask, 3, 0, 0.1).shape == (3, 12, 6)
    assert region_crop(image, None, 2, 0, 0.1).shape == (20, 20)  # middle slice
    assert region_crop(image[0], None, 2, 0, 0.1).shape == (20, 20)  # a 2D image as it is


def test_batched_extraction_equals_one_at_a_time():
    import SimpleITK as sitk

    from spinedlr.extract.extractor_settings import BackboneEntry
    from spinedlr.extract.extractors import BackboneExtractor, Region

    entry = BackboneEntry(kind="backbone", backbone="resnet18_3d", input_size=16, channels=1,
                          normalize="zscore", batch_size=2)
    ex = BackboneExtractor(entry, build_backbone("resnet18_3d", 1, 16, seed=0))
    rng = np.random.default_rng(0)
    regions = []
    for i in range(3):
        mask = np.zeros((12, 20, 20), np.uint8)
        mask[2 + i:9, 4:15, 5:12 + i] = 1
        regions.append(Region(f"U{i}", "vb", "ct", "r1",
                              sitk.GetImageFromArray(rng.normal(0, 1, mask.shape)),
                              sitk.GetImageFromArray(mask)))
    batched = ex.extract_many(regions)
    assert [len(f) for f in batched] == [512] * 3
    for region, features in zip(regions, batched):
        single = ex.extract(region)
        np.testing.assert_allclose(list(features.values()), list(single.values()), atol=1e-5)
    assert batched[0] != batched[1]
