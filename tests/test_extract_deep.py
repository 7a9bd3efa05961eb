"""Deep features, the selection module and Grad-CAM.

The segmentation network (UCTransNet) lives on the `segment` branch, not available to this
branch yet: these tests use a tiny stand-in nn.Module with the same interface
(`features_down4`, `forward`, `gradcam_layer`, loaded by a `load_model`-like loader). The real
network plugs in through `spinedlr.segment.checkpoint.load_model` (deep_stage.default_loader).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from extract_helpers import disc_study, needs_discs
from torch import nn

from spinedlr.config import load_study
from spinedlr.extract.deep import bounding_box, crop_slice, gap_features, roi_crops
from spinedlr.extract.deep_selection import select_deep
from spinedlr.extract.gradcam import gradcam
from spinedlr.extract.deep_stage import run_deep

SIZE = 64


class TinySegNet(nn.Module):
    """Stand-in with UCTransNet's deep-feature interface: 4 stride-2 stages, 8*base channels."""

    def __init__(self, base: int = 4):
        super().__init__()
        torch.manual_seed(0)
        chans = [1, base, 2 * base, 4 * base, 8 * base, 8 * base]
        self.inc = nn.Sequential(nn.Conv2d(1, base, 3, padding=1), nn.BatchNorm2d(base), nn.ReLU())
        blocks = [nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1),
                                nn.BatchNorm2d(chans[i + 1]), nn.ReLU()) for i in range(1, 5)]
        self.down1, self.down2, self.down3, self.down4 = blocks
        self.outc = nn.Conv2d(8 * base, 1, 1)
        self.eval()

    def features_down4(self, x):
        return self.down4(self.down3(self.down2(self.down1(self.inc(x)))))

    def forward(self, x):
        return nn.functional.interpolate(self.outc(self.features_down4(x)), size=x.shape[-2:],
                                         mode="bilinear", align_corners=False)

    @property
    def gradcam_layer(self):
        return self.down4


def tiny_loader(_path):
    return TinySegNet(), {"model_config": {"img_size": SIZE, "in_channels": 1}}


def test_bounding_box_with_margin_and_clipping():
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 5:25] = 1  # 10 rows, 20 columns
    assert bounding_box(mask, 0.1) == (9, 21, 3, 27)  # 1 and 2 pixels each side
    assert bounding_box(mask, 0.0) == (9, 21, 4, 26)  # at least one pixel
    assert bounding_box(mask, 1.0) == (0, 30, 0, 45)  # clipped at the image border


def test_crop_is_resized_and_min_max_normalised():
    rng = np.random.default_rng(1)
    image = rng.uniform(100, 900, (40, 50)).astype(np.float32)
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 5:25] = 1
    crop, cmask = crop_slice(image, mask, 0.1, SIZE)
    assert crop.shape == cmask.shape == (SIZE, SIZE)
    assert crop.min() == 0.0 and crop.max() == pytest.approx(1.0)
    assert 0 < cmask.mean() < 1


def test_largest_slice_and_mean_aggregation():
    image = np.random.default_rng(2).normal(size=(6, 32, 32)).astype(np.float32)
    mask = np.zeros((6, 32, 32), np.uint8)
    mask[1, 5:10, 5:10] = 1   # area 25
    mask[3, 4:14, 4:14] = 1   # area 100 (largest)
    mask[4, 8:12, 8:12] = 1   # area 16
    largest = roi_crops(image, mask, 0, 0.1, SIZE, "largest")
    every = roi_crops(image, mask, 0, 0.1, SIZE, "mean")
    assert largest.slices.tolist() == [3] and every.slices.tolist() == [1, 3, 4]
    along_x = roi_crops(image, mask, 2, 0.1, SIZE, "mean")  # slice axis = numpy axis 2
    assert along_x.slices.tolist() == list(range(4, 14))


def test_gap_features_are_the_mean_of_down4_and_batch_size_free():
    model = TinySegNet()
    crops = np.random.default_rng(3).uniform(size=(7, SIZE, SIZE)).astype(np.float32)
    one = gap_features(model, crops, batch_size=1, precision="fp32")
    many = gap_features(model, crops, batch_size=4, precision="fp32")
    with torch.no_grad():
        direct = model.features_down4(torch.as_tensor(crops[:, None])).mean(dim=(2, 3)).numpy()
    assert one.shape == (7, 32)
    np.testing.assert_allclose(one, many, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one, direct, rtol=1e-5, atol=1e-6)


def test_bf16_gap_features_agree_with_fp32():
    model = TinySegNet()
    crops = np.random.default_rng(3).uniform(size=(7, SIZE, SIZE)).astype(np.float32)
    fp32 = gap_features(model, crops, batch_size=4, precision="fp32")
    bf16 = gap_features(model, crops, batch_size=4, precision="bf16")
    assert bf16.dtype == np.float64 and not np.array_equal(fp32, bf16)  # bf16 really ran
    np.testing.assert_allclose(bf16, fp32, rtol=0.03, atol=0.005 * np.abs(fp32).max())


def test_selection_keeps_features_that_separate_clusters_and_drops_dead_ones():
    rng = np.random.default_rng(4)
    n_feat = 20
    library = rng.normal(size=(200, n_feat))
    library[:, 19] = 5.0  # dead channel: constant in the library
    study = rng.normal(size=(40, n_feat)) * 0.3
    study[:20, :4] += 4.0  # features 0-3 split the patients into two groups
    study[:, 19] = 5.0
    names = [f"f{j}" for j in range(n_feat)]
    table, summary = select_deep(library, study, names, keep_fraction=0.2, seed=0)
    assert sorted(table.filter("kept")["feature"].to_list()) == ["f0", "f1", "f2", "f3"]
    assert table.filter(pl.col("feature") == "f19")["score"][0] == 0.0
    assert sorted(summary["cluster_sizes"]) == [20, 20] and summary["n_dead"] == 1


def test_gradcam_is_a_normalised_map_that_depends_on_the_image():
    model = TinySegNet()
    crop = np.zeros((SIZE, SIZE), np.float32)
    crop[20:40, 10:30] = 1.0
    mask = (crop > 0).astype(np.uint8)
    cam = gradcam(model, crop, mask)
    assert cam.shape == (SIZE, SIZE) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    other = gradcam(model, np.roll(crop, 25, axis=1), np.roll(mask, 25, axis=1))
    assert not np.allclose(cam, other)


def test_gradcam_in_bf16_matches_fp32_and_leaves_no_gradients_on_the_network():
    model = TinySegNet()
    crop = np.random.default_rng(6).uniform(size=(SIZE, SIZE)).astype(np.float32)
    crop[20:40, 10:30] += 1.0
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[20:40, 10:30] = 1
    fp32 = gradcam(model, crop, mask, precision="fp32")
    bf16 = gradcam(model, crop, mask, precision="bf16")
    assert bf16.dtype == np.float32 and not np.array_equal(fp32, bf16)
    assert np.corrcoef(fp32.ravel(), bf16.ravel())[0, 1] > 0.999
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.skipif(**needs_discs)
def test_run_deep_on_real_discs(tmp_path):
    path = disc_study(tmp_path, cases=("case11", "case20", "case25"), extract={
        "deep": {"gradcam_patients": ["case20"]},
        "deep_selection": {"keep_fraction": 0.25},
    })
    study = load_study(path)
    summary = run_deep(study, loader=tiny_loader, show_progress=False)
    assert summary.n_rois == 15 and summary.n_failed == 0
    out = tmp_path / "out" / "features"
    deep_all = pl.read_parquet(out / "deep_all.parquet")
    assert deep_all.group_by("patient_id", "roi").len()["len"].unique().to_list() == [32]
    assert deep_all["image_type"].unique().to_list() == ["uctransnet"]
    selection = pl.read_parquet(out / "deep_selection.parquet")
    assert selection.group_by("roi").agg(pl.col("kept").sum())["kept"].unique().to_list() == [8]
    deep = pl.read_parquet(out / "deep.parquet")
    assert deep.height == 15 * 8
    kept = selection.filter("kept").select("roi", "feature")
    assert deep.select("roi", "feature").unique().sort("roi", "feature").equals(
        kept.sort("roi", "feature"))
    png = tmp_path / "out" / "figures" / "gradcam" / "disc-label1" / "case20.png"
    assert png.stat().st_size > 1000
    cam = np.load(png.with_suffix(".npz"))["cam"]
    assert cam.shape == (SIZE, SIZE) and cam.max() == pytest.approx(1.0)

    # the largest-area slice is the default; the mean over slices is a different number
    disc_study(tmp_path, cases=("case11", "case20", "case25"),
               extract={"deep": {"aggregate": "mean"}, "deep_selection": {"enabled": False}})
    run_deep(load_study(path), loader=tiny_loader, show_progress=False)
    mean_all = pl.read_parquet(out / "deep_all.parquet")
    assert mean_all.height == deep_all.height
    assert pl.read_parquet(out / "deep.parquet").equals(mean_all)  # no selection: all kept
    assert not np.allclose(mean_all["value"].to_numpy(), deep_all["value"].to_numpy())
