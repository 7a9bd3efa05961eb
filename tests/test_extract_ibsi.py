"""IBSI digital phantom: PyRadiomics through our extractor vs the IBSI consensus values.

Settings: bin width 1 (the phantom's grey levels 1..6 each get their own bin), no resampling,
3D. Aggregation rows used: "3D, averaged" for GLCM and GLRLM (PyRadiomics averages the 13
directions), "3D" for GLSZM, GLDM (IBSI NGLDM) and NGTDM. Tolerance: IBSI's where given,
1 % of the reference value where it is not.
"""

from __future__ import annotations

import csv
import re

import polars as pl
import pytest
import yaml
from extract_helpers import IBSI

from spinedlr.config import load_study
from spinedlr.extract.stage import run
from spinedlr.extract.tables import wide

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not (IBSI / "phantom.nii.gz").exists(), reason="needs ../shared")]

AGGREGATION = {"shape": "", "firstorder": "", "glcm": "3D, averaged", "glrlm": "3D, averaged",
               "glszm": "3D", "gldm": "3D", "ngtdm": "3D"}

# Errors in the name map as shipped (PyRadiomics' featuresDict_IBSIv7.tsv), corrected here:
# four GLSZM features are listed under class "glcm", two use the British "Grey" spelling.
MAP_FIXES = {
    ("glcm", "SmallAreaLowGrayLevelEmphasis"): ("glszm", "SmallAreaLowGrayLevelEmphasis"),
    ("glcm", "SmallAreaHighGrayLevelEmphasis"): ("glszm", "SmallAreaHighGrayLevelEmphasis"),
    ("glcm", "LargeAreaLowGrayLevelEmphasis"): ("glszm", "LargeAreaLowGrayLevelEmphasis"),
    ("glcm", "LargeAreaHighGrayLevelEmphasis"): ("glszm", "LargeAreaHighGrayLevelEmphasis"),
    ("glszm", "LowGreyLevelZoneEmphasis"): ("glszm", "LowGrayLevelZoneEmphasis"),
    ("glszm", "HighGreyLevelZoneEmphasis"): ("glszm", "HighGrayLevelZoneEmphasis"),
    ("glszm", "ZoneSizeVariance"): ("glszm", "ZoneVariance"),
    ("glszm", "ZoneSizeEntropy"): ("glszm", "ZoneEntropy"),
    # deprecated in PyRadiomics because they equal another feature it does compute:
    ("glcm", "SumVariance"): ("glcm", "ClusterTendency"),
    ("glcm", "Dissimilarity"): ("glcm", "DifferenceAverage"),
    ("gldm", "GrayLevelNonUniformityNormalized"): ("firstorder", "Uniformity"),
}

# Documented exceptions (the report lists these as "not IBSI-conformant as reported"):
# - firstorder Kurtosis (IPH6): PyRadiomics reports kurtosis, IBSI excess kurtosis (-3).
# - shape MajorAxisLength / MinorAxisLength / LeastAxisLength (TDIC, P9VJ, 7J51): PyRadiomics
#   takes the eigenvalues of the SAMPLE covariance of voxel positions (N-1), IBSI the population
#   covariance (N): values are smaller by sqrt((N-1)/N) (0.7 % for the phantom's 74 voxels;
#   Minor and Least fall outside IBSI's tolerance, Major just inside). Elongation and Flatness
#   are ratios and unaffected.
# - gldm DependencePercentage (6XV8): not computed by PyRadiomics (always 1 by definition).
def _convert(cls: str, name: str, value: float, n_voxels: int) -> float:
    """Our value in IBSI's convention, for the documented exceptions; others unchanged."""
    if (cls, name) == ("firstorder", "Kurtosis"):
        return value - 3
    if cls == "shape" and name in {"MajorAxisLength", "MinorAxisLength", "LeastAxisLength"}:
        return value * (n_voxels / (n_voxels - 1)) ** 0.5
    return value


NOT_COMPUTED = {("gldm", "DependencePercentage")}


def _number(text: str) -> float:
    """IBSI values, some written as reST math, e.g. ':math:`1.2 \\times 10^{3}`'."""
    m = re.fullmatch(r":math:`([-\d.]+) \\times 10\^\{(-?\d+)\}`", text.strip())
    return float(m.group(1)) * 10 ** int(m.group(2)) if m else float(text)


def _ibsi_rows() -> dict[str, tuple[float, float]]:
    rows: dict[str, tuple[float, float]] = {}
    with open(IBSI / "reference_values.csv") as fh:
        for r in csv.DictReader(fh):
            tol = r["tolerance"].strip()
            rows[(r["ibsi_code"], r["aggregation"])] = (
                _number(r["value"]), _number(tol) if tol not in ("", "—") else None)
    return rows


def _name_map() -> list[tuple[str, str, str]]:
    out = []
    with open(IBSI / "pyradiomics_ibsi_names.tsv") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if r["pyradiomics_feature_class"]:
                cls, name = MAP_FIXES.get(
                    (r["pyradiomics_feature_class"], r["pyradiomics_feature_name"]),
                    (r["pyradiomics_feature_class"], r["pyradiomics_feature_name"]))
                out.append((r["IBSI_code"], cls, name))
    return out


def _phantom_features(tmp_path) -> dict[str, float]:
    from radiomics import getFeatureClasses

    classes = getFeatureClasses()
    params = {  # every feature of every class, deprecated ones included (the map uses some)
        "imageType": {"Original": {}},
        "featureClass": {c: sorted(classes[c].getFeatureNames()) for c in AGGREGATION},
        "setting": {"binWidth": 1, "label": 1},
    }
    (tmp_path / "ibsi.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "manifest.csv").write_text(
        f"patient_id,recurrence,image,mask\nphantom,0,{IBSI / 'phantom.nii.gz'},"
        f"{IBSI / 'mask.nii.gz'}\nphantom_copy,1,{IBSI / 'phantom.nii.gz'},{IBSI / 'mask.nii.gz'}\n")
    (tmp_path / "study.yaml").write_text(yaml.safe_dump({
        "covariates": [], "comparator": None,
        "rois": [{"name": "phantom", "image": "image", "masks": {"ibsi": "mask"},
                  "labels": {1: "roi"}}],
        "extract": {"params": str(tmp_path / "ibsi.yaml")},
    }))
    run(load_study(tmp_path / "study.yaml"), patients=["phantom"], show_progress=False)
    long = pl.read_parquet(tmp_path / "out" / "features" / "radiomics.parquet")
    row = wide(long).drop("patient_id", "roi", "rater").row(0, named=True)
    return {k.removeprefix("original_"): v for k, v in row.items()}


def test_ibsi_phantom_conformance(tmp_path):
    ours = _phantom_features(tmp_path)
    n_voxels = round(ours["shape_VoxelVolume"] / 8)  # 2 mm isotropic voxels
    assert n_voxels == 74
    reference = _ibsi_rows()
    checked, failures = [], []
    for code, cls, name in _name_map():
        ref = reference.get((code, AGGREGATION[cls]))
        if ref is None:
            continue  # no reference value for this aggregation (e.g. 2D-only features)
        if (cls, name) in NOT_COMPUTED:
            continue
        value = _convert(cls, name, ours[f"{cls}_{name}"], n_voxels)
        expected, tol = ref
        tol = tol if tol is not None else 0.01 * abs(expected)
        checked.append(f"{cls}_{name}")
        if abs(value - expected) > tol:
            failures.append(f"{cls}_{name} ({code}): {value:.6g} vs IBSI {expected} ± {tol:.3g}")
    assert len(checked) >= 95
    assert not failures, "\n".join(failures)
