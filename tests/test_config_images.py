"""Several images per unit, optional images, whole-image ROIs and the extractors section.

Each new config item has a valid case and one clear error for a wrong combination; the
manifest validation and the configured-extractor driver run on a tiny hand-built study with
a masked 3D ROI (two raters, an optional T1) and a whole-image 2D ROI read from PNG crops.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch
import yaml
from pydantic import ValidationError

from spinedlr.config import Roi, StudyConfig, load_study
from spinedlr.errors import ConfigError
from spinedlr.extract.backbones import RANDOM_INIT
from spinedlr.extract.configured import extract_configured
from spinedlr.extract.extractor_settings import BackboneEntry
from spinedlr.extract.extractors import RadiomicsExtractor, Region
from spinedlr.extract.settings import ExtractSettings
from spinedlr.manifest import read_manifest, validate_study

MASKED = {"name": "disc", "image": "t2", "masks": {"r1": "m1"}, "labels": {1: "disc"}}


def test_reference_rois_keep_their_meaning():
    for roi in StudyConfig().rois:
        assert roi.image_columns() == [("image", roi.image, True)]
        assert not roi.whole_image and roi.reliability_applicable


@pytest.mark.parametrize("extra,message", [
    ({"whole_image": True}, "no masks or labels"),
    ({"whole_image": True, "masks": {}}, "no labels"),
    ({"masks": {}}, "or whole_image: true"),
    ({"labels": {}}, "labels are needed"),
    ({"images": {"image": {"column": "t1"}}}, "both the main image_name"),
    ({"images": {"t1": {"column": "t2"}}}, "same manifest column"),
])
def test_roi_wrong_combinations_are_one_clear_error(extra, message):
    with pytest.raises(ValidationError, match=message):
        Roi.model_validate({**MASKED, **extra})


def test_whole_image_roi_and_named_optional_images():
    roi = Roi.model_validate({"name": "crop", "image": "t2", "image_name": "t2", "dim": "2D",
                              "whole_image": True, "images": {"t1": {"column": "t1",
                                                                     "required": False}}})
    assert roi.image_columns() == [("t2", "t2", True), ("t1", "t1", False)]
    assert not roi.reliability_applicable  # no raters: the ICC step must skip it
    single = Roi.model_validate(MASKED)
    assert not single.reliability_applicable  # one rater


@pytest.mark.parametrize("entry,message", [
    ({"kind": "backbone", "backbone": "resnet51"}, "registered: resnet50_2d"),
    ({"kind": "backbone", "backbone": "resnet50_2d", "weights": "a.pt\n; rm -rf /"},
     "control characters"),
    ({"kind": "backbone", "backbone": "resnet50_2d", "weights": "net.py"}, "state-dict file"),
    ({"kind": "backbone", "backbone": "resnet50_2d", "channels": 1}, "needs channels: 3"),
    ({"kind": "backbone", "backbone": "vit_b16_2d", "input_size": 40}, "multiple of 16"),
    ({"kind": "pyradiomics", "dim": "4D"}, "2D"),
    ({"kind": "haralick"}, "kind"),
])
def test_extractor_entries_are_validated(entry, message):
    with pytest.raises(ValidationError, match=message):
        ExtractSettings.model_validate({"extractors": [entry]})


def _png(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(arr.astype(np.uint8)), str(path))


def _nii(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(arr), str(path))


def _study(tmp_path: Path, extractors: list, t1_for: int = 3) -> Path:
    """4 units: a masked 3D disc (two raters, T2 + optional T1) and a 2D whole-image crop."""
    rng = np.random.default_rng(0)
    rows = ["patient_id,y,t2,t1,m1,m2,crop"]
    for i in range(4):
        t2 = rng.normal(100, 20, (3, 24, 24)).astype(np.float32)
        _nii(t2, tmp_path / f"t2_{i}.nii.gz")
        _nii(t2[::-1].copy() + 5, tmp_path / f"t1_{i}.nii.gz")
        for r, shift in (("m1", 0), ("m2", 1)):
            m = np.zeros((3, 24, 24), np.uint8)
            m[:, 6 + shift:16, 5:18] = 1
            _nii(m, tmp_path / f"{r}_{i}.nii.gz")
        _png(rng.integers(0, 255, (30, 40)), tmp_path / f"crop_{i}.png")
        t1 = f"t1_{i}.nii.gz" if i < t1_for else ""
        rows.append(f"U{i},{i % 2},t2_{i}.nii.gz,{t1},m1_{i}.nii.gz,m2_{i}.nii.gz,crop_{i}.png")
    (tmp_path / "units.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"imageType": {"Original": {}}, "featureClass": {"firstorder": ["Mean"], "shape": []},
         "setting": {"binWidth": 25}}))
    config = {
        "manifest": "units.csv", "outcome": "y", "covariates": [], "comparator": None,
        "rois": [
            {**MASKED, "image_name": "t2", "masks": {"r1": "m1", "r2": "m2"},
             "images": {"t1": {"column": "t1", "required": False}}},
            {"name": "crop", "image": "crop", "dim": "2D", "whole_image": True},
        ],
        "extract": {"params": "params.yaml", "extractors": extractors},
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "study.yaml"


def test_optional_image_skipped_and_recorded_required_missing_is_a_problem(tmp_path):
    study = load_study(_study(tmp_path, []))
    v = validate_study(study)
    assert v.ok, v.problems
    assert v.skipped == [("U3", "disc", "t1")]
    assert any("optional image" in n for n in v.notes)
    text = (tmp_path / "units.csv").read_text().replace(",t2_1.nii.gz,", ",,")
    (tmp_path / "units.csv").write_text(text)
    v = validate_study(load_study(tmp_path / "study.yaml"))
    assert v.problems == [("U1", "t2", "no image path")]


def test_whole_image_2d_crop_must_be_2d_roi(tmp_path):
    path = _study(tmp_path, [])
    config = yaml.safe_load(path.read_text())
    config["rois"][1]["dim"] = "3D"
    path.write_text(yaml.safe_dump(config))
    v = validate_study(load_study(path))
    assert len(v.problems) == 4 and all("needs a 3D volume" in p for _, _, p in v.problems)


def test_extractor_names_and_weights_checked_at_load(tmp_path):
    path = _study(tmp_path, [{"kind": "backbone", "backbone": "resnet50_2d", "rois": ["crop"],
                              "weights": "weights/none.pt"},
                             {"kind": "pyradiomics", "rois": ["muscle"]},
                             {"kind": "segmentation_deep", "rois": ["crop"]},
                             {"kind": "pyradiomics", "images": ["fat"]}])
    with pytest.raises(ConfigError) as err:
        load_study(path)
    msg = str(err.value)
    assert "weights file not found" in msg and "unknown ROI(s) muscle" in msg
    assert "whole-image ROIs have no segmentation network" in msg
    assert "unknown image(s) fat" in msg and str(path) in msg


def _region(image: np.ndarray, mask: np.ndarray | None) -> Region:
    img = sitk.GetImageFromArray(image.astype(np.float32))
    msk = None if mask is None else sitk.GetImageFromArray(mask.astype(np.uint8))
    return Region("U0", "disc", "t2", "r1", img, msk, 0)


def test_radiomics_dim_is_honoured_and_whole_image_drops_shape(tmp_path):
    study = load_study(_study(tmp_path, []))
    extract = study.config.extract
    rng = np.random.default_rng(2)
    image, mask = rng.normal(100, 20, (3, 24, 24)), np.zeros((3, 24, 24))
    mask[:, 6:16, 5:18] = 1
    classes = {}
    for dim in ("2D", "3D"):
        ex = RadiomicsExtractor(BackboneFree(dim), extract, study.root, "3D")
        classes[dim] = {c for _, c, _ in ex.extract(_region(image, mask))}
    assert classes == {"2D": {"firstorder", "shape2D"}, "3D": {"firstorder", "shape"}}
    whole = RadiomicsExtractor(BackboneFree("2D"), extract, study.root, "2D")
    features = whole.extract(_region(image[0], None))
    assert {c for _, c, _ in features} == {"firstorder"}
    assert features[("original", "firstorder", "Mean")] == pytest.approx(image[0].mean())


def BackboneFree(dim: str):
    """A PyRadiomics entry of the given dim (named for what it is not: no network)."""
    return ExtractSettings.model_validate(
        {"extractors": [{"kind": "pyradiomics", "dim": dim}]}).extractors[0]


def test_driver_runs_every_image_and_records_random_init(tmp_path):
    study = load_study(_study(tmp_path, [
        {"kind": "pyradiomics", "rois": ["disc"]},
        {"kind": "backbone", "backbone": "resnet50_2d", "rois": ["crop"], "input_size": 32},
    ]))
    torch.manual_seed(0)
    out = extract_configured(study, read_manifest(study.manifest_path))
    assert out.failures.height == 0
    disc = out.table.filter(roi="disc")
    # 4 units x 2 raters on T2, 3 units x 2 raters on T1 (U3 has none); Mean + 14 shape each
    assert disc.group_by("image_type").len().sort("image_type").rows() == [
        ("t1.original", 6 * 15), ("t2.original", 8 * 15)]
    crop = out.table.filter(roi="crop")
    assert crop.height == 4 * 2048 and set(crop["rater"]) == {"whole_image"}
    assert [p["weights"] for p in out.provenance if p["kind"] == "backbone"] == [RANDOM_INIT]
    again = extract_configured(study, read_manifest(study.manifest_path))
    assert again.table.equals(out.table)  # seeded from the study, not the global RNG


def test_segmentation_deep_extractor_uses_the_largest_mask_slice():
    from test_extract_deep import SIZE, TinySegNet

    from spinedlr.extract.deep import crop_slice
    from spinedlr.extract.extractors import SegmentationDeepExtractor
    from spinedlr.extract.settings import DeepSettings

    rng = np.random.default_rng(3)
    image, mask = rng.normal(100, 20, (3, 40, 40)), np.zeros((3, 40, 40))
    mask[0, 10:14, 10:14], mask[1, 8:30, 6:33], mask[2, 5:9, 5:9] = 1, 1, 1
    model = TinySegNet()
    ex = SegmentationDeepExtractor(DeepSettings(), model, SIZE, 1, "fp32")
    got = ex.extract(_region(image, mask))
    crop, _ = crop_slice(image[1].astype(np.float32), mask[1], 0.1, SIZE)
    with torch.inference_mode():
        want = model.features_down4(torch.as_tensor(crop)[None, None]).mean(dim=(2, 3))[0]
    assert len(got) == want.numel()
    np.testing.assert_allclose(list(got.values()), want.double().numpy(), rtol=1e-5)
    whole = ex.extract(_region(image[0], None))  # a whole-image 2D region works as well
    assert len(whole) == want.numel()


def test_uint8_crop_is_binned_without_overflow(tmp_path):
    """PyRadiomics bins in the image's own type: in uint8 (PNG crops) max + 2 x binWidth
    overflows; the extractor casts to float32 so no arithmetic wraps around."""
    (tmp_path / "bins.yaml").write_text(yaml.safe_dump(
        {"imageType": {"Original": {}},
         "featureClass": {"firstorder": ["Entropy"], "glcm": ["JointEntropy"]},
         "setting": {"binWidth": 25}}))
    extract = ExtractSettings(params="bins.yaml")
    ex = RadiomicsExtractor(BackboneFree("2D"), extract, tmp_path, "2D")
    crop = np.random.default_rng(4).integers(150, 256, (20, 30))  # near the top of uint8
    as_png = Region("U0", "crop", "t2", "whole_image",
                    sitk.GetImageFromArray(crop.astype(np.uint8)), None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        features = ex.extract(as_png)
    assert features == ex.extract(_region(crop, None))
    assert features[("original", "firstorder", "Entropy")] > 1  # 150..255: 5 bins of 25


def test_optional_roi_absent_for_a_unit_is_skipped_with_its_masks(tmp_path):
    path = _study(tmp_path, [{"kind": "pyradiomics", "rois": ["disc"]}])
    config = yaml.safe_load(path.read_text())
    config["rois"][0]["required"] = False
    path.write_text(yaml.safe_dump(config))
    text = (tmp_path / "units.csv").read_text()
    text = text.replace(",t2_2.nii.gz,t1_2.nii.gz,m1_2.nii.gz,m2_2.nii.gz,", ",,,,,")
    (tmp_path / "units.csv").write_text(text)
    study = load_study(path)
    v = validate_study(study)
    assert v.ok, v.problems
    assert ("U2", "disc", "t2") in v.skipped
    out = extract_configured(study, read_manifest(study.manifest_path))
    assert sorted(set(out.table["patient_id"])) == ["U0", "U1", "U3"]
    config["rois"][0]["required"] = True
    path.write_text(yaml.safe_dump(config))
    assert validate_study(load_study(path)).problems == [("U2", "t2", "no image path")]
