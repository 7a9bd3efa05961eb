"""Slicing, resizing, augmentation, input checks and prediction geometry."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from spinedlr.errors import InputError
from spinedlr.segment.data import augment, fit, fit_geometry, load_case, normalise, unfit
from spinedlr.segment.model import ModelConfig, UCTransNet
from spinedlr.segment.predict import keep_largest_component, predict_volume


def write(arr: np.ndarray, path: Path, spacing=(0.8, 0.9, 3.0), origin=(10.0, -5.0, 2.0)) -> Path:
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    img.SetDirection((0, 0, 1, 1, 0, 0, 0, 1, 0))
    sitk.WriteImage(img, str(path))
    return path


@pytest.fixture
def volume(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.normal(100, 10, (6, 20, 30)).astype(np.float32)
    mask = np.zeros((6, 20, 30), np.uint8)
    mask[1:5, 5:12, 8:20] = 2
    return write(img, tmp_path / "img.nii.gz"), write(mask, tmp_path / "mask.nii.gz"), img, mask


def test_fit_keeps_aspect_and_unfit_inverts():
    f = fit_geometry(50, 100, 64)
    assert (f.nh, f.nw, f.top, f.left) == (32, 64, 16, 0)
    x = torch.full((2, 1, 50, 100), 3.0)
    y, f = fit(x, 64)
    assert y.shape == (2, 1, 64, 64)
    assert y[..., :16, :].abs().sum() == 0 and y[..., 48:, :].abs().sum() == 0  # padding
    assert torch.allclose(unfit(y, f), x)


def test_normalise_is_robust_min_max():
    v = np.arange(1000, dtype=np.float32)
    n = normalise(v)
    assert n.min() == 0 and n.max() == 1 and abs(n[500] - 0.5) < 0.01
    assert normalise(np.full(10, 7.0)).max() == 0


def test_load_case_maps_labels_to_classes(volume):
    img_p, mask_p, _, mask = volume
    case = load_case("p1", [img_p], mask_p, [1, 2], slice_axis=0)
    assert case.image.shape == (1, 6, 20, 30)
    assert set(np.unique(case.mask)) == {0, 2} and (case.mask == 2).sum() == (mask == 2).sum()
    case = load_case("p1", [img_p], mask_p, [2], slice_axis=0)
    assert set(np.unique(case.mask)) == {0, 1}


def test_bad_inputs_name_case_and_file(volume, tmp_path):
    img_p, mask_p, img, mask = volume
    nan = img.copy()
    nan[2, 3, 4] = np.nan
    bad = write(nan, tmp_path / "nan.nrrd")  # (SimpleITK's NIfTI writer drops NaNs)
    with pytest.raises(InputError, match=r"patient p7: .*nan.nrrd holds NaN"):
        load_case("p7", [bad], mask_p, [2], 0)
    with pytest.raises(InputError, match=r"patient p7: .*mask.nii.gz.*label\(s\) \[2\] not configured"):
        load_case("p7", [img_p], mask_p, [1], 0)
    empty = write(np.zeros_like(mask), tmp_path / "empty.nii.gz")
    with pytest.raises(InputError, match=r"patient p7: .*empty.nii.gz is empty"):
        load_case("p7", [img_p], empty, [2], 0)
    shifted = write(mask, tmp_path / "shifted.nii.gz", origin=(11.0, -5.0, 2.0))
    with pytest.raises(InputError, match=r"patient p7: mask .*shifted.nii.gz does not match.*origin"):
        load_case("p7", [img_p], shifted, [2], 0)
    with pytest.raises(InputError, match=r"patient p7: .*img.nii.gz has 6 slice\(s\).*at least 8"):
        load_case("p7", [img_p], mask_p, [2], 0, min_slices=8)


def test_augment_never_mirrors_left_and_right():
    x = torch.zeros(16, 1, 32, 32)
    x[..., :, :12] = 1.0  # bright left third
    y = (x[:, 0] > 0.5).to(torch.uint8)
    xa, ya = augment(x, y, torch.Generator().manual_seed(0))
    left, right = xa[..., :, :10].mean(dim=(1, 2, 3)), xa[..., :, 22:].mean(dim=(1, 2, 3))
    assert (left > 0.6).all() and (right < 0.05).all()
    # the mask moves with the image
    agree = ((xa[:, 0] > 0.5) == (ya == 1)).float().mean()
    assert agree > 0.97


def test_largest_component_per_label():
    a = np.zeros((5, 10, 10), np.uint8)
    a[0:2, 0:3, 0:3] = 1
    a[4, 8, 8] = 1
    a[3, 5, 5] = 2
    out = keep_largest_component(a)
    assert out[4, 8, 8] == 0 and (out == 1).sum() == 18 and out[3, 5, 5] == 2


@pytest.mark.parametrize("zoom", [1.0, 1.6])
def test_prediction_has_input_geometry(volume, zoom):
    img_p, mask_p, _, _ = volume
    case = load_case("p1", [img_p], None, [1, 2], slice_axis=1)
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=4, img_size=32, n_classes=3)).eval()
    meta = {"slice_axis": 1, "label_values": [4, 9], "preset": {"zoom": zoom}}
    out = predict_volume(model, meta, case.image, case.reference, largest_component=False)
    ref = sitk.ReadImage(str(img_p))
    assert out.GetSize() == ref.GetSize()
    for get in ("GetSpacing", "GetOrigin", "GetDirection"):
        assert np.allclose(getattr(out, get)(), getattr(ref, get)())
    assert set(np.unique(sitk.GetArrayFromImage(out))) <= {0, 4, 9}
