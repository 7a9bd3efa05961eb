"""Known-answer tests: our extractor writes exactly what PyRadiomics itself computes.

The direct call uses the parameter FILE and PyRadiomics' own ``label=k`` selection on the
multi-label disc mask, so it is independent of our parameter assembly, mask binarisation,
result splitting and Parquet round trip.
"""

from __future__ import annotations

import collections

import polars as pl
import pytest
from extract_helpers import DISC_LABELS, DISCS, disc_study, needs_discs
from radiomics.featureextractor import RadiomicsFeatureExtractor

from spinedlr.config import load_study
from spinedlr.extract.params import reference_params_path
from spinedlr.extract.stage import run
from spinedlr.extract.tables import wide

pytestmark = [pytest.mark.shared, pytest.mark.skipif(**needs_discs)]


def _direct(case: str, label: int, pre_crop: bool) -> dict[str, float]:
    extractor = RadiomicsFeatureExtractor(str(reference_params_path()))
    extractor.settings["preCrop"] = pre_crop
    result = extractor.execute(
        str(DISCS / f"{case}_t2.nii.gz"), str(DISCS / f"{case}_discs.nii.gz"), label=label
    )
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


def _ours(study_path, patients) -> pl.DataFrame:
    run(load_study(study_path), patients=patients, show_progress=False)
    return pl.read_parquet(study_path.parent / "out" / "features" / "radiomics.parquet")


def _as_dict(long: pl.DataFrame, roi: str) -> dict[str, float]:
    row = wide(long.filter(pl.col("roi") == roi)).drop("patient_id", "roi", "rater")
    assert row.height == 1
    return row.row(0, named=True)


def test_default_parameters_give_1223_features_equal_to_pyradiomics(tmp_path):
    """Full reference parameters, whole image (no crop), one disc: 1,223 exact matches."""
    study = disc_study(tmp_path, labels={1: "L5S1"}, combine="union")
    long = _ours(study, ["case11"])
    counts = collections.Counter(long["feature_class"].to_list())
    assert long.height == 1223
    assert counts == {"shape": 14, "firstorder": 18 * 13, "glcm": 24 * 13, "glrlm": 16 * 13,
                      "glszm": 16 * 13, "gldm": 14 * 13, "ngtdm": 5 * 13}
    assert long["image_type"].n_unique() == 13
    ours = _as_dict(long, "disc")
    direct = _direct("case11", 1, pre_crop=False)
    assert list(ours) == list(direct)  # same features, same order
    mismatched = {k: (ours[k], direct[k]) for k in direct if ours[k] != direct[k]}
    assert not mismatched


@pytest.mark.slow
def test_all_five_discs_equal_pyradiomics_with_crop(tmp_path):
    """All five discs of case11, per label (combine="each"), reference parameters + preCrop.

    Cropping keeps this test short; the equality principle is the same as above.
    """
    study = disc_study(tmp_path, extract={"crop_to_roi": True})
    long = _ours(study, ["case11"])
    assert sorted(long["roi"].unique()) == sorted(f"disc:{n}" for n in DISC_LABELS.values())
    for label, name in DISC_LABELS.items():
        ours = _as_dict(long, f"disc:{name}")
        direct = _direct("case11", label, pre_crop=True)
        assert len(ours) == 1223
        assert ours == direct, f"disc {name}: differs from PyRadiomics"


def test_crop_is_recorded_and_changes_filtered_features(tmp_path):
    """crop_to_roi is an explicit setting: it is in the diagnostics and changes square/LoG
    features (they depend on the whole image) while leaving original-image features alone."""
    study = disc_study(tmp_path, labels={1: "L5S1"}, combine="union",
                       extract={"crop_to_roi": True})
    cropped = _as_dict(_ours(study, ["case11"]), "disc")
    diag = pl.read_parquet(tmp_path / "out" / "features" / "diagnostics.parquet")
    assert diag["crop_to_roi"].to_list() == [True]
    full = _direct("case11", 1, pre_crop=False)
    assert all(cropped[k] == full[k] for k in full if k.startswith("original_"))
    changed = [k for k in full if k.startswith("square_") and cropped[k] != full[k]]
    assert changed, "cropping should change square-image features"
