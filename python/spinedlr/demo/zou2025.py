"""`spinedlr demo --design zou2025`: a three-centre CT + MRI study of cage subsidence.

Modelled on Zou et al. 2025 (``shared/reference/zou2025_cage_subsidence.txt``): per patient
a sagittal CT in Hounsfield units and sagittal T1/T2 MRI of the fusion level
(:mod:`anatomy_fusion`) and an axial T2 of the paraspinal muscles (the reference phantom,
:mod:`anatomy_muscle`); two raters' masks of the vertebral bodies on CT, of the vertebral
bodies and the disc on MRI (drawn on T2, shared by T1) and of the muscles; the paper's
clinical variables with each centre's case mix taken from one column of its Table 1; and
two surgeons' binary predictions.

Latent model: ``logit P(subsidence) = a + Σ WEIGHTS[k] · term_k`` over the image latents
(low bone density, heterogeneous marrow, disc degeneration, muscle fat) and clinical terms
(fused segments, BMI), realised as in the reference demo with the cohort's event count
fixed (75 of 305 in the paper). Osteoporosis is what a density scan reads: the patients
with the lowest bone density (plus reading noise) in each centre, in the centre's Table 1
proportion, so osteoporotic bone is visibly less dense on CT.

Surgeons see what a clinic sees — osteoporosis, fused segments, BMI, age and the disc on
MRI — through a shared clinical impression plus each surgeon's own judgement; each calls a
fixed share of patients positive. Their agreement (Cohen's kappa about 0.6) and accuracy
(well under the latent truth's) are recorded by the tests.

Centres differ in scanner too: a CT calibration offset and noise level and an MR gain.
Layout: study.yaml, manifest.csv (with ``centre``, ``surgeon_a``, ``surgeon_b``), images/,
masks/rater1|2/, truth.parquet. Determinism: patient ``i``'s latents come from the stream
(seed, 1, i) and its images from (seed, 2, i); the cohort-level draws (clinical tables,
outcome noise, surgeons) from (seed, 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import Progress

from spinedlr.config import MUSCLE_LABELS, Covariate, Roi, RoiImage, StudyConfig, dump_config
from spinedlr.demo import anatomy_fusion as af
from spinedlr.demo import anatomy_muscle
from spinedlr.demo.anatomy_disc import DIRECTION as SAGITTAL
from spinedlr.demo.clinical import apportion
from spinedlr.demo.files import RATERS, patient_ids, prepare_folder, rng_for, write_volume
from spinedlr.demo.generate import variant_config
from spinedlr.demo.mr_signal import to_int16
from spinedlr.demo.outcome import assign_outcome
from spinedlr.demo.raters import rater_masks
from spinedlr.design.settings import DesignSettings, Fixed, ModelSettings
from spinedlr.errors import InputError

OUTCOME = "subsidence"
DEFAULT_N = 200
EVENT_RATE = 75 / 305
LATENTS = ("bone_density", "marrow_heterogeneity", "disc_degeneration", "muscle_fat")
WEIGHTS = {"bone_density": -1.5, "marrow_heterogeneity": 1.4, "disc_degeneration": 0.5,
           "muscle_fat": 0.5, "extra_segments": 0.6, "bmi_z": 0.3}
DIAGNOSES = ("stenosis", "spondylolisthesis", "disc_herniation")


@dataclass(frozen=True)
class Centre:
    """One centre: its case mix (a Table 1 column of the paper) and its scanners."""

    name: str
    size: int  # patients in the paper's column (shares of the demo's n)
    female: int
    age: tuple[float, float]
    bmi: tuple[float, float]
    diagnosis: tuple[int, int, int]
    segments: tuple[int, int, int]
    osteoporosis: int
    ct_offset: float
    ct_noise: float
    mr_gain: float


CENTRES = (
    Centre("centre_1", 214, 114, (64.39, 9.11), (26.65, 3.86), (113, 58, 43), (131, 69, 14),
           108, 0.0, 18.0, 1.0),
    Centre("centre_2", 61, 29, (60.00, 9.98), (26.46, 4.00), (15, 16, 30), (46, 15, 0),
           36, 10.0, 24.0, 0.88),
    Centre("centre_3", 30, 14, (64.90, 8.13), (27.21, 4.27), (9, 11, 10), (24, 6, 0),
           12, -8.0, 14.0, 1.12),
)
AGE_RANGE = (36, 90)
# surgeons: weights of what they see, spread of the shared impression and of each one's own
# judgement, and the share of patients each calls positive
SURGEON_VIEW = {"osteoporosis_yes": 0.9, "extra_segments": 0.5, "bmi_z": 0.3, "age_z": 0.3,
                "disc_degeneration": 0.4}
SURGEON_SHARED_SD, SURGEON_OWN_SD = 0.9, 0.55
SURGEON_POSITIVE = {"surgeon_a": 0.30, "surgeon_b": 0.36}


def _sizes(n: int) -> list[int]:
    """Patients per centre, in the paper's proportions (214 : 61 : 30)."""
    shares = apportion({i: c.size for i, c in enumerate(CENTRES)}, n)
    return [shares.count(i) for i in range(len(CENTRES))]


def _clinical(rng: np.random.Generator, c: Centre, bone_density: np.ndarray) -> pl.DataFrame:
    """One centre's clinical table with its Table 1 proportions; osteoporosis from density."""
    n = len(bone_density)
    cols: dict[str, list] = {}
    cols["age"] = np.rint(np.clip(rng.normal(*c.age, n), *AGE_RANGE)).astype(int).tolist()
    cols["sex"] = rng.permutation(
        apportion({"female": c.female, "male": c.size - c.female}, n)).tolist()
    cols["bmi"] = np.round(np.clip(rng.normal(*c.bmi, n), 16.0, 45.0), 1).tolist()
    cols["diagnosis"] = rng.permutation(apportion(dict(zip(DIAGNOSES, c.diagnosis)), n)).tolist()
    cols["segments"] = rng.permutation(apportion(dict(zip((1, 2, 3), c.segments)), n)).tolist()
    porotic = apportion({"yes": c.osteoporosis, "no": c.size - c.osteoporosis}, n).count("yes")
    measured = bone_density + rng.normal(0.0, 0.5, n)
    osteo = np.full(n, "no", dtype=object)
    osteo[np.argsort(measured, kind="stable")[:porotic]] = "yes"
    cols["osteoporosis"] = osteo.tolist()
    return pl.DataFrame(cols)


def _terms(clinical: pl.DataFrame) -> pl.DataFrame:
    """Clinical terms of the outcome and of the surgeons' view (standardised on centre 1)."""
    ref = CENTRES[0]
    return clinical.select(
        (pl.col("segments") - 1).cast(pl.Float64).alias("extra_segments"),
        ((pl.col("bmi") - ref.bmi[0]) / ref.bmi[1]).alias("bmi_z"),
        ((pl.col("age") - ref.age[0]) / ref.age[1]).alias("age_z"),
        (pl.col("osteoporosis") == "yes").cast(pl.Float64).alias("osteoporosis_yes"),
    )


def surgeon_calls(rng: np.random.Generator, truth: pl.DataFrame) -> pl.DataFrame:
    """Each surgeon's 0/1 prediction: the top share of (shared impression + own judgement)."""
    n = truth.height
    seen = sum(w * truth[k].to_numpy() for k, w in SURGEON_VIEW.items())
    shared = seen + rng.normal(0.0, SURGEON_SHARED_SD, n)
    out = {}
    for name, share in SURGEON_POSITIVE.items():
        score = shared + rng.normal(0.0, SURGEON_OWN_SD, n)
        call = np.zeros(n, dtype=np.int64)
        call[np.argsort(-score, kind="stable")[: int(round(share * n))]] = 1
        out[name] = call
    return pl.DataFrame(out)


def _cohort(seed: int, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Truth (latents, terms, outcome, centre) and clinical tables of all centres."""
    latents = pl.DataFrame([dict(zip(LATENTS, rng_for(seed, 1, i).standard_normal(4)))
                            for i in range(n)])
    cohort = rng_for(seed, 0)
    parts, start = [], 0
    for c, size in zip(CENTRES, _sizes(n)):
        bd = latents["bone_density"].to_numpy()[start:start + size]
        parts.append(_clinical(cohort, c, bd).with_columns(pl.lit(c.name).alias("centre")))
        start += size
    clinical = pl.concat(parts)
    events = int(round(EVENT_RATE * n))
    truth = assign_outcome(cohort, pl.concat([latents, _terms(clinical)], how="horizontal"),
                           events, WEIGHTS, OUTCOME)
    truth = pl.concat([truth, surgeon_calls(cohort, truth)], how="horizontal")
    ids = pl.Series("patient_id", patient_ids(n))
    return truth.select(ids, clinical["centre"], pl.all()), clinical.drop("centre")


# image (file stem) -> geometry; ROI -> the image its masks are drawn on
IMAGES = {"ct": (af.CT_SPACING, SAGITTAL), "t1": (af.MR_SPACING, SAGITTAL),
          "t2": (af.MR_SPACING, SAGITTAL),
          "axial": (anatomy_muscle.SPACING, anatomy_muscle.DIRECTION)}
MASKS = {"vb_ct": "ct", "vb_mr": "t2", "disc": "t2", "muscle": "axial"}


def _paths(pid: str) -> dict[str, str]:
    cols = {f"{k}_image": f"images/{pid}_{k}.nii.gz" for k in IMAGES}
    for roi in MASKS:
        cols |= {f"{roi}_mask_{r}": f"masks/{r}/{pid}_{roi}.nii.gz" for r in RATERS}
    return cols


def _patient(out: Path, row: dict, c: Centre, rng: np.random.Generator) -> None:
    """Render and write one patient's four volumes and eight masks."""
    lat = [row[k] for k in LATENTS[:3]]
    level = af.draw_level(rng, row["disc_degeneration"])
    ct, ct_labels = af.render_ct(rng, level, *lat, offset=c.ct_offset, noise=c.ct_noise)
    t1, t2, mr_labels = af.render_mr(rng, level, *lat, gain=c.mr_gain)
    axial, muscle = anatomy_muscle.render_muscle(rng, row["muscle_fat"], row["bmi"])
    paths = _paths(row["patient_id"])
    stored = {"ct": af.to_hu_int16(ct), "t1": to_int16(t1), "t2": to_int16(t2),
              "axial": to_int16(axial * c.mr_gain)}
    for k, array in stored.items():
        write_volume(array, *IMAGES[k], out / paths[f"{k}_image"])
    ct_vb = np.where(ct_labels == af.DISC, 0, ct_labels).astype(np.uint8)
    drawn = {"vb_ct": rater_masks(rng, ct_vb), "muscle": rater_masks(rng, muscle)}
    mr = rater_masks(rng, mr_labels)
    drawn["vb_mr"] = {r: np.where(m == af.DISC, 0, m).astype(np.uint8) for r, m in mr.items()}
    drawn["disc"] = {r: (m == af.DISC).astype(np.uint8) for r, m in mr.items()}
    for roi, by_rater in drawn.items():
        for rater, mask in by_rater.items():
            write_volume(mask, *IMAGES[MASKS[roi]], out / paths[f"{roi}_mask_{rater}"])


COVARIATES = [
    Covariate(name="age", type="continuous", label="Age (years)"),
    Covariate(name="sex", type="binary", levels=["female", "male"], label="Sex"),
    Covariate(name="bmi", type="continuous", label="BMI (kg/m²)"),
    Covariate(name="osteoporosis", type="binary", levels=["no", "yes"], label="Osteoporosis"),
    Covariate(name="segments", type="ordinal", levels=[1, 2, 3], label="Fused segments"),
    Covariate(name="diagnosis", type="nominal", levels=list(DIAGNOSES), label="Diagnosis"),
]
ZOU_MODELS = ("lr", "svm", "knn", "decision_tree", "random_forest", "extra_trees", "adaboost",
              "mlp", "xgboost", "lightgbm")
VB_LABELS = {af.UPPER: "upper_vertebral_body", af.LOWER: "lower_vertebral_body"}


def _rois() -> list[Roi]:
    masks = {roi: {r: f"{roi}_mask_{r}" for r in RATERS} for roi in MASKS}
    t1 = {"t1": RoiImage(column="t1_image")}
    return [
        Roi(name="vb_ct", image="ct_image", image_name="ct", masks=masks["vb_ct"],
            labels=VB_LABELS),
        Roi(name="vb_mr", image="t2_image", image_name="t2", images=t1, masks=masks["vb_mr"],
            labels=VB_LABELS),
        Roi(name="disc", image="t2_image", image_name="t2", images=t1, masks=masks["disc"],
            labels={1: "disc"}),
        Roi(name="muscle", image="axial_image", image_name="t2", masks=masks["muscle"],
            plane="axial", labels=dict(MUSCLE_LABELS)),
    ]


PARAMS_FILE = "radiomics.yaml"
PARAMS = """\
# PyRadiomics parameters of the zou2025 demo (extract.params). The paper also filters
# (wavelet, LoG); the demo keeps the original image's 107 features per ROI and image so
# that `spinedlr run` finishes on two cores in minutes. Images are z-scored before
# extraction (normalize, set by extract.normalize in study.yaml), as in the paper.
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
  glcm:
  glrlm:
  glszm:
  gldm:
  ngtdm:
setting:
  binWidth: 0.25
  label: 1
  interpolator: sitkBSpline
  preCrop: true
  padDistance: 5
  additionalInfo: true
"""
DEMO_FUSION = {"readers": list(SURGEON_POSITIVE), "centre": "centre", "cv_folds": 5,
               "classify3d": {"preset": "cpu", "epochs": 10}}
"""The fusion stage's demo settings: the surgeons as readers, the cpu 3D preset with few
epochs (the paper preset is for a GPU; see bench/results/classify3d.json), and 5 outer folds
with 3 inner search folds for the classifier comparison (the paper's 10 folds, the default,
fit ten classifiers about 4,000 times and take longer than the demo's 15-minute budget on
two cores)."""


def zou_config(seed: int) -> StudyConfig:
    """The demo's run-time settings with Zou's outcome, ROIs and stratified 7:2:1 split.

    The masks are the raters' (no segmentation network is trained: the segment and deep
    stages are off), and radiomics use the original image only (``PARAMS``)."""
    return variant_config(
        seed, name="spinedlr demo study (synthetic, three centres, CT + MRI, Zou et al. "
        "2025-like)", outcome=OUTCOME, outcome_label="Cage subsidence",
        comparator="osteoporosis", covariates=COVARIATES, rois=_rois(),
        design=DesignSettings(
            validation=Fixed(scheme="fixed", train=0.7, validation=0.2, test=0.1),
            models=[ModelSettings(name=m) for m in ZOU_MODELS], search_folds=3),
        segment={"enabled": False}, extract={"params": PARAMS_FILE, "normalize": True},
        fusion=DEMO_FUSION,
    )


def write_zou2025(out: Path, n: int = DEFAULT_N, seed: int = 0) -> None:
    """Write the three-centre study into ``out`` (an earlier demo there is replaced)."""
    if n < 20:
        raise InputError(f"--n must be at least 20 patients for three centres, got {n}")
    out = Path(out)
    prepare_folder(out, ["images", *(f"masks/{r}" for r in RATERS)])
    truth, clinical = _cohort(seed, n)
    centres = {c.name: c for c in CENTRES}
    with Progress(transient=True) as progress:
        task = progress.add_task("demo patients", total=n)
        rows = pl.concat([truth, clinical], how="horizontal").iter_rows(named=True)
        for i, row in enumerate(rows):
            _patient(out, row, centres[row["centre"]], rng_for(seed, 2, i))
            progress.advance(task)
    paths = pl.DataFrame([_paths(p) for p in truth["patient_id"]])
    manifest = pl.concat([truth.select("patient_id", "centre", OUTCOME, *SURGEON_POSITIVE),
                          clinical, paths], how="horizontal")
    manifest.write_csv(out / "manifest.csv")
    (out / PARAMS_FILE).write_text(PARAMS)
    dump_config(zou_config(seed), out / "study.yaml")
    truth.write_parquet(out / "truth.parquet")
