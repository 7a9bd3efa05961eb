"""Per-disc features of the SPIDER Pfirrmann crops: loading, normalisation, a simple disc
segmentation, and the feature families of ``FAMILIES``: the crude baseline intensity
statistics, segmented-disc intensity and geometry, 2D PyRadiomics inside the segmented disc,
the disc level, patient-relative brightness and height, T1 (where present) and frozen
ResNet50 features.

Why normalise per crop: the crops are 8-bit renderings whose window differs between series
and scanners, so raw grey values carry the scanner, not the disc. Each crop is scaled to its
own 1st..99th percentile (``percentile_scale``), and the disc is also expressed relative to
the vertebral bodies above and below it (an internal reference present in every crop).

Why segment: the crop holds the disc *and* both endplates and vertebral bodies; whole-crop
statistics mix them. The disc is the bright (T2) or grey band between the two dark endplate
lines: ``disc_mask`` smooths the crop along its rows (neighbouring columns averaged, so noise
drops while the row of an edge does not move), and in every column of the middle 70 % finds
the darkest row above and below the middle row (the endplates; searched within the middle 80 % of rows)
and keeps the rows strictly between them. The nucleus is the middle third of that band's
columns. Pixel spacing is unknown (the slices were resized before cropping): pixels are unit
spacing, and geometry is reported relative to the crop height.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image
from scipy.ndimage import gaussian_filter1d

DATA_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "spider_pfirrmann"
"""The shared data set (``../shared`` from the repository root); never copied."""

DISC_KEYS = ("patient_id", "ivd_label")
QUANTILES = (10, 25, 50, 75, 90)


MANIFEST = "discs.csv"


def load_manifest(data_dir: Path = DATA_DIR, name: str = MANIFEST) -> pl.DataFrame:
    """The manifest (one row per disc and sequence); its image paths are relative to
    ``data_dir``, the manifest's own folder."""
    return pl.read_csv(data_dir / name)


def load_crop(path: Path) -> np.ndarray:
    """The crop as float grey values (8-bit PNG, colour collapsed to luminance)."""
    return np.asarray(Image.open(path).convert("L"), dtype=float)


def percentile_scale(img: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Crop scaled so its ``low``..``high`` percentiles map to 0..1 (clipped), which removes
    the series' window and level without letting a few saturated pixels set the scale."""
    lo, hi = np.percentile(img, [low, high])
    return np.clip((img - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def disc_mask(img: np.ndarray, sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(disc mask, per-column disc height) by the column-wise endplate search of the module
    docstring; columns where no band is found contribute nothing."""
    h, w = img.shape
    mask = np.zeros((h, w), dtype=bool)
    smooth = gaussian_filter1d(img, sigma, axis=1)
    mid, top, bottom = h // 2, int(0.1 * h), int(np.ceil(0.9 * h))
    heights = []
    for c in range(int(0.15 * w), int(np.ceil(0.85 * w))):
        col = smooth[:, c]
        upper = top + int(np.argmin(col[top:mid]))
        lower = mid + int(np.argmin(col[mid:bottom]))
        if lower - upper > 2:
            mask[upper + 1:lower, c] = True
            heights.append(lower - upper - 1)
    return mask, np.asarray(heights, dtype=float)


def nucleus_mask(mask: np.ndarray) -> np.ndarray:
    """The middle third of the disc mask's columns (the nucleus pulposus region)."""
    cols = np.flatnonzero(mask.any(axis=0))
    out = np.zeros_like(mask)
    if cols.size:
        a, b = np.percentile(cols, [100 / 3, 200 / 3]).astype(int)
        out[:, a:b + 1] = mask[:, a:b + 1]
    return out


def _stats(values: np.ndarray, prefix: str) -> dict[str, float]:
    v = values if values.size else np.array([np.nan])
    q = np.percentile(v, QUANTILES)
    out = {f"{prefix}_mean": float(np.mean(v)), f"{prefix}_sd": float(np.std(v))}
    out.update({f"{prefix}_p{k}": float(x) for k, x in zip(QUANTILES, q)})
    return out


def baseline_features(img: np.ndarray) -> dict[str, float]:
    """The crude 16-feature baseline: mean, sd, quartiles, 10th/90th percentile and maximum
    of the raw grey values in the whole crop and in its central third (rows and columns)."""
    h, w = img.shape
    centre = img[h // 3: h - h // 3, w // 3: w - w // 3]
    out: dict[str, float] = {}
    for name, part in (("crop", img), ("centre", centre)):
        out.update(_stats(part.ravel(), f"base_{name}"))
        out[f"base_{name}_max"] = float(part.max())
    return out


def disc_features(img: np.ndarray) -> dict[str, float]:
    """Intensity and geometry of the segmented disc on the percentile-scaled crop: disc and
    nucleus statistics, their ratio to the vertebral bodies (rows outside the endplates), the
    relative disc height and its spread (narrowing), and the nucleus-to-annulus contrast."""
    norm = percentile_scale(img)
    mask, heights = disc_mask(norm)
    nucleus = nucleus_mask(mask)
    bone = np.ones_like(mask)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size:
        bone[max(rows[0] - 2, 0): rows[-1] + 3] = False
    ref = float(np.median(norm[bone])) if bone.any() else np.nan
    out = _stats(norm[mask], "disc") | _stats(norm[nucleus], "nucleus")
    annulus = mask & ~nucleus
    h = img.shape[0]
    out.update({
        "bone_median": ref,
        "nucleus_to_bone": out["nucleus_mean"] / (ref + 0.05),
        "disc_to_bone": out["disc_mean"] / (ref + 0.05),
        "nucleus_minus_annulus": out["nucleus_mean"] - (float(norm[annulus].mean()) if annulus.any() else np.nan),
        "height_rel": float(np.median(heights)) / h if heights.size else np.nan,
        "height_cv": float(np.std(heights) / np.mean(heights)) if heights.size else np.nan,
        "area_rel": float(mask.mean()),
        "raw_nucleus_to_crop": float(img[nucleus].mean() / (img.mean() + 1)) if nucleus.any() else np.nan,
    })
    return out


RADIOMICS_CLASSES = ("shape2D", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
"""The PyRadiomics feature classes extracted (Original image only); the report names them."""
BIN_COUNT = 32


@lru_cache(maxsize=4)
def _radiomics_extractor(bin_count: int):
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    params = {
        "imageType": {"Original": {}},
        "featureClass": {c: [] for c in RADIOMICS_CLASSES},
        "setting": {"binCount": bin_count, "force2D": True, "force2Ddimension": 0, "label": 1,
                    "additionalInfo": False, "minimumROIDimensions": 2},
    }
    return RadiomicsFeatureExtractor(params)


def radiomics_features(img: np.ndarray, bin_count: int = BIN_COUNT) -> dict[str, float]:
    """2D PyRadiomics (Original image only: shape2D, first-order, GLCM, GLRLM, GLSZM, GLDM,
    NGTDM) inside the segmented disc of the percentile-scaled crop (0..100), ``bin_count``
    fixed bins. Shape2D is kept because the region is a segmentation, not the crop."""
    import SimpleITK as sitk

    norm = percentile_scale(img) * 100.0
    mask, _ = disc_mask(norm)
    image = sitk.GetImageFromArray(norm[None].astype(np.float32))
    roi = sitk.GetImageFromArray(mask[None].astype(np.uint8))
    roi.CopyInformation(image)
    res = _radiomics_extractor(bin_count).execute(image, roi, label=1)
    return {f"rad_{k.removeprefix('original_')}": float(v) for k, v in res.items()
            if not k.startswith("diagnostics")}


def deep_features(images: list[np.ndarray], seed: int, weights: Path | None = None,
                  size: tuple[int, int] = (64, 128)) -> tuple[np.ndarray, str]:
    """Frozen MONAI ResNet50 (2D) pooled features of the percentile-scaled crops resized to
    ``size`` and repeated to three channels; (rows x 2048, the weights it used). Without a
    ``weights`` file the network is randomly initialised from ``seed`` (reported as such)."""
    import torch

    from spinedlr.extract.backbones import build_backbone

    backbone = build_backbone("resnet50_2d", 3, max(size), weights, seed)
    batch = np.stack([np.asarray(Image.fromarray((percentile_scale(i) * 255).astype(np.uint8))
                                 .resize(size[::-1], Image.BILINEAR), dtype=np.float32) / 255
                      for i in images])
    x = torch.from_numpy(batch)[:, None].repeat(1, 3, 1, 1)
    x = (x - 0.45) / 0.225
    with torch.no_grad():
        feats = torch.cat([backbone.features(x[i:i + 32]) for i in range(0, len(x), 32)])
    return feats.numpy(), backbone.weights


FEATURE_VERSION = "2"
"""Bumped whenever a feature definition changes, so a stale cache is never read."""

SCANNER = "scanner"
T1_KEYS = ("nucleus_mean", "nucleus_to_bone", "disc_mean", "disc_to_bone", "height_rel")


def t1_only_discs(manifest: pl.DataFrame) -> pl.DataFrame:
    """Discs with a T1 crop and no T2 crop (6 patients in the shared data, although its
    README says every patient has T2). The models grade T2 discs, so these are left out
    and counted in the benchmark's cohort."""
    t2 = manifest.filter(pl.col("sequence") == "t2").select(DISC_KEYS)
    return manifest.filter(pl.col("sequence") == "t1").join(t2, on=list(DISC_KEYS), how="anti")


def cohort(table: pl.DataFrame, manifest: pl.DataFrame, weights: str) -> dict:
    """The graded cohort's counts, the T1-only discs left out, and how features were made
    (deep weights, pixel spacing): what every result of the grading study states."""
    t1_only = t1_only_discs(manifest)
    return {"n_discs": table.height, "n_patients": table["patient_id"].n_unique(),
            "excluded_t1_only": {"n_discs": t1_only.height,
                                 "patients": sorted(t1_only["patient_id"].unique())},
            "n_with_t1": int((table["t1_missing"] == 0).sum()),
            "deep_weights": weights, "pixel_spacing": "unit (unknown; crops were resized)"}


def _per_image(data_dir: Path, files: list[str]) -> pl.DataFrame:
    """Baseline, disc and radiomics features of every crop (one row per file)."""
    import logging

    import radiomics

    radiomics.setVerbosity(logging.ERROR)  # PyRadiomics logs a notice per image otherwise,
    logging.getLogger("radiomics").setLevel(logging.ERROR)  # also through the CLI's handler
    rows = []
    for f in files:
        img = load_crop(data_dir / f)
        rows.append({"file": f} | baseline_features(img) | disc_features(img) | radiomics_features(img))
    return pl.DataFrame(rows)


def _patient_relative(t: pl.DataFrame) -> pl.DataFrame:
    """Each T2 disc relative to the brightest / tallest disc of the same patient: the
    patient's healthiest disc is an internal reference for window, coil and scanner. Uses
    only that patient's images (no outcome), so a new patient's CSV supplies it too."""
    return t.with_columns(
        (pl.col("nucleus_to_bone") - pl.col("nucleus_to_bone").max().over("patient_id")).alias("pat_nucleus_to_bone"),
        (pl.col("nucleus_mean") - pl.col("nucleus_mean").max().over("patient_id")).alias("pat_nucleus_mean"),
        (pl.col("height_rel") / pl.col("height_rel").max().over("patient_id")).alias("pat_height_rel"),
    )


def _with_t1(t2: pl.DataFrame, t1: pl.DataFrame) -> pl.DataFrame:
    """T1 disc features joined to the T2 row (null where the disc has no T1), the T2/T1
    nucleus-to-bone ratio and a ``t1_missing`` indicator; imputation happens inside the
    model's training folds, never here."""
    t1 = t1.select(*DISC_KEYS, *[pl.col(k).alias(f"t1_{k}") for k in T1_KEYS])
    out = t2.join(t1, on=list(DISC_KEYS), how="left")
    return out.with_columns(
        (pl.col("nucleus_to_bone") / pl.col("t1_nucleus_to_bone")).alias("t1_t2_ratio"),
        pl.col("t1_nucleus_mean").is_null().cast(pl.Float64).alias("t1_missing"),
    )


def scanner_column(m: pl.DataFrame) -> pl.Expr:
    """The scanner of each row (manufacturer, model, field strength); null when the manifest
    does not say (a new cohort scored by `apply` need not)."""
    parts = ("manufacturer", "scanner_model", "field_strength_t")
    if not all(c in m.columns for c in parts):
        return pl.lit(None, pl.String).alias(SCANNER)
    return pl.format("{} {} {}T", *parts).alias(SCANNER)


def feature_table(data_dir: Path = DATA_DIR, cache_dir: Path | None = None, seed: int = 0,
                  weights: Path | None = None, manifest: str = MANIFEST,
                  deep: bool = True) -> tuple[pl.DataFrame, str]:
    """(one row per disc: keys, grade, scanner, every feature family; the deep weights note).

    Cached as parquet under ``cache_dir`` keyed by the manifest's bytes, the feature version,
    the seed and the weights file name, so a rerun reads instead of extracting. ``deep``
    False skips the ResNet50 (``apply`` of a model that does not read its features)."""
    import hashlib

    manifest_bytes = (data_dir / manifest).read_bytes()
    key = hashlib.sha256(manifest_bytes + f"{FEATURE_VERSION}|{seed}|{weights}".encode()).hexdigest()[:16]
    cached = None if cache_dir is None else cache_dir / f"spider_features_{key}.parquet"
    if cached is not None and cached.exists():
        t = pl.read_parquet(cached)
        return t, t["deep_weights"][0]
    m = load_manifest(data_dir, manifest)
    per = _per_image(data_dir, m["file"].to_list())
    m = m.join(per, on="file").with_columns(scanner_column(m))
    t2 = m.filter(pl.col("sequence") == "t2").sort(*DISC_KEYS)
    note = "not computed"
    if deep:
        feats, note = deep_features([load_crop(data_dir / f) for f in t2["file"]], seed, weights)
        t2 = t2.hstack(pl.DataFrame(feats, schema=[f"deep_{i}" for i in range(feats.shape[1])]))
    table = _with_t1(_patient_relative(t2), m.filter(pl.col("sequence") == "t1"))
    table = table.with_columns(pl.lit(note).alias("deep_weights"))
    if cached is not None and deep:
        cached.parent.mkdir(parents=True, exist_ok=True)
        table.write_parquet(cached)
    return table, note


FAMILIES = {
    "baseline": lambda c: c.startswith("base_"),
    "disc": lambda c: c.split("_")[0] in ("disc", "nucleus", "bone", "height", "area", "raw"),
    "radiomics": lambda c: c.startswith("rad_"),
    "level": lambda c: c == "ivd_label",
    "patient": lambda c: c.startswith("pat_"),
    "t1": lambda c: c.startswith("t1_"),
    "deep": lambda c: c.startswith("deep_") and c != "deep_weights",
}
"""Feature families by column name, for the model's feature sets and the ablations."""


def family_columns(table: pl.DataFrame, families: tuple[str, ...]) -> list[str]:
    """The table's columns of the named families, in table order."""
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown feature families {unknown}; known: {sorted(FAMILIES)}")
    return [c for c in table.columns if any(FAMILIES[f](c) for f in families)]
