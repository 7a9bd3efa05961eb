"""Parameter assembly: documented options change the extraction the way they say they do."""

from __future__ import annotations

import collections

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
from extract_helpers import DISCS, disc_study, needs_discs

from spinedlr.config import load_study
from spinedlr.errors import ConfigError
from spinedlr.extract.params import effective_params, params_hash
from spinedlr.extract.settings import ExtractSettings
from spinedlr.extract.stage import run


def test_overrides_are_folded_into_the_parameters_and_the_hash(tmp_path):
    base = effective_params(ExtractSettings(), tmp_path)
    assert base["setting"]["preCrop"] is False and "LoG" not in base["imageType"]
    opt = effective_params(ExtractSettings(crop_to_roi=True, log_sigmas=[1, 3], bin_width=10,
                                           resampled_spacing=[1, 1, 1], normalize=True), tmp_path)
    assert opt["imageType"]["LoG"] == {"sigma": [1.0, 3.0]}
    assert opt["setting"]["binWidth"] == 10.0 and opt["setting"]["preCrop"] is True
    assert opt["setting"]["resampledPixelSpacing"] == [1.0, 1.0, 1.0]
    assert params_hash(base) != params_hash(opt)
    assert params_hash(base) == params_hash(effective_params(ExtractSettings(), tmp_path))
    two_d = effective_params(ExtractSettings(), tmp_path, dim="2D", slice_axis=2)
    assert "shape2D" in two_d["featureClass"] and "shape" not in two_d["featureClass"]
    assert two_d["setting"]["force2D"] is True and two_d["setting"]["force2Ddimension"] == 2


def test_bad_parameter_file_names_the_file(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("setting:\n  binWidht: 25\n")
    with pytest.raises(ConfigError, match=str(bad)):
        effective_params(ExtractSettings(params=str(bad)), tmp_path)


@pytest.mark.shared
@pytest.mark.skipif(**needs_discs)
def test_log_sigmas_add_93_features_each(tmp_path):
    study = disc_study(tmp_path, labels={1: "L5S1"}, combine="union",
                       extract={"crop_to_roi": True, "log_sigmas": [1.0, 2.0]})
    run(load_study(study), patients=["case11"], show_progress=False)
    long = pl.read_parquet(tmp_path / "out" / "features" / "radiomics.parquet")
    assert long.height == 1223 + 2 * 93
    assert {"log-sigma-1-0-mm-3D", "log-sigma-2-0-mm-3D"} <= set(long["image_type"])


@pytest.mark.shared
@pytest.mark.skipif(**needs_discs)
def test_2d_roi_uses_shape2d(tmp_path):
    """A single-slice mask (2D ROI, slices along numpy axis 0): the 9 shape2D features
    (PyRadiomics 3.1: SphericalDisproportion is deprecated), no 3D shape."""
    mask = sitk.ReadImage(str(DISCS / "case11_discs.nii.gz"))
    arr = sitk.GetArrayFromImage(mask)
    z = int(np.argmax((arr == 1).sum(axis=(1, 2))))
    one = np.zeros_like(arr)
    one[z] = arr[z] == 1
    out = sitk.GetImageFromArray(one)
    out.CopyInformation(mask)
    sitk.WriteImage(out, str(tmp_path / "slice.nii.gz"))
    study = disc_study(tmp_path, labels={1: "L5S1"}, combine="union",
                       extract={"crop_to_roi": True},
                       overrides={"case11": {"disc_mask_rater1": str(tmp_path / "slice.nii.gz")}})
    text = study.read_text().replace("dim: 3D", "dim: 2D")
    study.write_text(text)
    run(load_study(study), patients=["case11"], show_progress=False)
    long = pl.read_parquet(tmp_path / "out" / "features" / "radiomics.parquet")
    counts = collections.Counter(long["feature_class"].to_list())
    assert counts["shape2D"] == 9 and "shape" not in counts
    assert counts["glcm"] == 24 * long["image_type"].n_unique()
