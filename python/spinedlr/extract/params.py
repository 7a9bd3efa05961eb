"""The effective PyRadiomics parameters of a study: parameter file + recorded overrides.

Why a dict and not the file path: PyRadiomics accepts either, and the dict is what we hash,
record in the diagnostics table and ship to workers, so the exact parameters used for every
task are on disk next to the features, whatever file the user pointed at.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path

import yaml

from spinedlr.errors import ConfigError
from spinedlr.extract.settings import ExtractSettings

REFERENCE_PARAMS = "reference.yaml"


def reference_params_path() -> Path:
    """The shipped default parameter file (the reference study's 1,223 features)."""
    return Path(str(resources.files("spinedlr.extract") / "params" / REFERENCE_PARAMS))


def read_params_file(path: Path) -> dict:
    """Read a PyRadiomics YAML file and validate it with PyRadiomics' own schema."""
    if not path.exists():
        raise ConfigError(f"{path}: PyRadiomics parameter file not found (extract.params)")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    validate_params(params, str(path))
    return params


def validate_params(params: dict, where: str) -> None:
    """Raise ConfigError naming the file when PyRadiomics would reject the parameters."""
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    try:
        RadiomicsFeatureExtractor(copy.deepcopy(params))
    except Exception as err:  # pykwalify SchemaError and ValueError both mean "bad file"
        raise ConfigError(f"{where}: invalid PyRadiomics parameters: {err}") from None


def effective_params(
    settings: ExtractSettings, study_root: Path, dim: str = "3D", slice_axis: int = 0
) -> dict:
    """Parameter file plus the settings that override it, for one ROI dimensionality.

    2D ROIs get shape2D instead of shape and force2D along the ROI's slice axis (numpy axis,
    which is what PyRadiomics' force2Ddimension indexes).
    """
    path = reference_params_path()
    if settings.params:
        path = Path(settings.params)
        path = path if path.is_absolute() else study_root / path
    params = read_params_file(path)
    params.setdefault("imageType", {"Original": {}})
    params.setdefault("setting", {})
    params["setting"] = dict(params["setting"] or {})
    s = params["setting"]
    s["preCrop"] = bool(settings.crop_to_roi)
    s["label"] = 1  # masks are binarised to 1 before extraction (see radiomics_task.py)
    if settings.log_sigmas:
        params["imageType"]["LoG"] = {"sigma": [float(x) for x in settings.log_sigmas]}
    if settings.bin_width is not None:
        s["binWidth"] = float(settings.bin_width)
        s.pop("binCount", None)
    if settings.resampled_spacing is not None:
        s["resampledPixelSpacing"] = [float(x) for x in settings.resampled_spacing]
    if settings.normalize is not None:
        s["normalize"] = bool(settings.normalize)
    if dim == "2D":
        classes = params.get("featureClass") or {}
        if "shape" in classes:
            classes["shape2D"] = classes.pop("shape")
        params["featureClass"] = classes
        s["force2D"] = True
        s["force2Ddimension"] = int(slice_axis)
    validate_params(params, str(path))
    return params


def params_hash(params: dict) -> str:
    """Content hash of a parameter dict (key order does not matter)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
