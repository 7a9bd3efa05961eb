"""`spinedlr demo --design fan2024`: a two-centre study with an external test cohort.

Modelled on Fan et al. 2024 (need for surgery in young adults with lumbar disc herniation,
``shared/reference/fan2024_dlrn.txt``): a training centre and an external centre two-thirds
and one-third of the patients, each with sagittal (disc) and axial (paraspinal muscle) T2
images rendered by the reference phantoms, two raters' masks, and the paper's clinical
variables with each centre's Table 2 proportions, so the case mix differs as in the paper
(external: more men, shorter symptom duration, less multifidus fat, 25 % instead of 38 %
operated).

Latent model (what a correct pipeline must recover): need for surgery follows one logistic
model in both centres, ``logit = intercept(centre) + Σ WEIGHTS[k] · term_k``, with the
image latents (disc heterogeneity → disc texture; muscle fat → fatty streaks and the MMFI
grade) and clinical terms (MSU class, which also sets the drawn herniation's size, ODI, SLRT,
Pfirrmann, duration). Each centre's intercept fixes its event count exactly (as the
reference demo does), so the latent AUC is about the same in both centres.

The scanner shift: the external centre's images are rescaled and offset and get extra
Gaussian noise (``SCANNER``), after rendering and before storage — the anatomy and the
truth are untouched, only the acquisition differs, which is the shift a frozen model must
survive. Layout::

    study.yaml, manifest.csv, images/, masks/rater1|2/      training centre (P001...)
    external/manifest.csv, external/images/, external/masks/rater1|2/   external (E001...)
    truth.parquet      both centres: centre, latents, terms, linear predictor, shift, outcome

Image paths in each manifest are relative to that manifest's own folder (``images/E001_...``
in external/manifest.csv), as every manifest's paths resolve (``Study.resolve_data``).
Determinism: patient ``i`` of centre ``k`` draws from the stream (seed, 1, k, i), each
centre's cohort-level draws from (seed, 0, k), so neither centre depends on the other's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import Progress

from spinedlr.config import Covariate, StudyConfig, dump_config
from spinedlr.demo import anatomy_disc, anatomy_muscle
from spinedlr.demo.clinical import apportion
from spinedlr.demo.files import RATERS, patient_ids, prepare_folder, rng_for, write_volume
from spinedlr.demo.generate import variant_config
from spinedlr.demo.mr_signal import to_int16
from spinedlr.demo.outcome import assign_outcome
from spinedlr.demo.raters import rater_masks
from spinedlr.design.settings import DesignSettings, External, ModelSettings
from spinedlr.errors import InputError

OUTCOME = "surgery"
EXTERNAL_MANIFEST = "external/manifest.csv"
DEFAULT_N = 180


@dataclass(frozen=True)
class Centre:
    """One centre's case mix (Fan et al. Table 2, Training and Test columns) and scanner."""

    name: str
    folder: str  # "" = the study folder itself
    prefix: str
    share: float  # of all patients
    surgery: float  # event rate
    male: float
    age: tuple[float, float]
    bmi: tuple[float, float]
    odi: tuple[float, float]
    counts: dict[str, dict[str, int]]
    scale: float  # intensity gain of the scanner
    offset: float  # intensity offset (signal units)
    noise: float  # extra Gaussian noise SD (signal units)


MSU = ["1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "2AB", "3AB"]
TRAINING = Centre(
    "centre_1", "", "P", 2 / 3, 404 / 1066, 528 / 1066, (33.23, 7.38), (23.59, 3.58),
    (31.42, 9.31),
    {"msu": dict(zip(MSU, (137, 62, 22, 260, 220, 8, 86, 141, 72, 58))),
     "pfirrmann": {"mild": 716, "severe": 350}, "slrt": {"no": 1022, "yes": 44},
     "mmfi": {"mild": 922, "severe": 144}, "duration": {"under_3m": 433, "over_3m": 633},
     "modic": {"no": 897, "yes": 169}},
    1.0, 0.0, 0.0,
)
EXTERNAL = Centre(
    "centre_2", "external", "E", 1 / 3, 47 / 191, 116 / 191, (33.10, 6.90), (23.37, 3.25),
    (30.03, 8.57),
    {"msu": dict(zip(MSU, (25, 9, 7, 54, 49, 0, 14, 16, 11, 6))),
     "pfirrmann": {"mild": 139, "severe": 52}, "slrt": {"no": 182, "yes": 9},
     "mmfi": {"mild": 180, "severe": 11}, "duration": {"under_3m": 105, "over_3m": 86},
     "modic": {"no": 160, "yes": 31}},
    0.78, 45.0, 24.0,
)
CENTRES = (TRAINING, EXTERNAL)
AGE_RANGE = (16, 44)  # the paper's inclusion criterion

# MSU class -> (logit term, herniation drawn): the size of the herniation (1-3) is what the
# class grades; its surgical rates in Table 2 run from 0 % (1A) to 97 % (3AB).
MSU_TERM = {"1A": -2.2, "1B": -1.6, "1C": -1.6, "2A": -1.0, "2B": 0.4, "2C": 0.8,
            "2AB": 0.1, "3A": 0.8, "3B": 1.7, "3AB": 2.0}
MSU_HERNIATION = {"1": "bulge", "2": "herniation", "3": "prolapse"}
WEIGHTS = {"disc_heterogeneity": 1.6, "muscle_fat": 0.9, "msu_term": 1.6, "odi_z": 0.55,
           "slrt_yes": 1.5, "pfirrmann_severe": 0.9, "duration_long": 0.4}


def _clinical(rng: np.random.Generator, c: Centre, muscle_fat: np.ndarray) -> pl.DataFrame:
    """One centre's clinical table; categorical counts are the centre's Table 2 shares.

    MMFI (Goutallier grade of multifidus fat, mild/severe) is what a reader sees: the
    patients with the most muscle fat (latent plus reading noise) are graded severe.
    """
    n = len(muscle_fat)
    cols: dict[str, list] = {}
    cols["age"] = np.rint(np.clip(rng.normal(*c.age, n), *AGE_RANGE)).astype(int).tolist()
    cols["sex"] = rng.permutation(apportion({"male": c.male, "female": 1 - c.male}, n)).tolist()
    cols["bmi"] = np.round(np.clip(rng.normal(*c.bmi, n), 16.0, 40.0), 1).tolist()
    cols["odi"] = np.rint(np.clip(rng.normal(*c.odi, n), 0, 100)).astype(int).tolist()
    for name in ("pfirrmann", "slrt", "msu", "duration", "modic"):
        cols[name] = rng.permutation(apportion(c.counts[name], n)).tolist()
    severe = apportion(c.counts["mmfi"], n).count("severe")
    seen = muscle_fat + rng.normal(0.0, 0.5, n)
    mmfi = np.full(n, "mild", dtype=object)
    mmfi[np.argsort(-seen, kind="stable")[:severe]] = "severe"
    cols["mmfi"] = mmfi.tolist()
    return pl.DataFrame(cols)


def _terms(clinical: pl.DataFrame) -> pl.DataFrame:
    """The clinical terms of the latent logit (centred on the training centre's ODI)."""
    return clinical.select(
        pl.col("msu").replace_strict(MSU_TERM, return_dtype=pl.Float64).alias("msu_term"),
        ((pl.col("odi") - TRAINING.odi[0]) / TRAINING.odi[1]).alias("odi_z"),
        (pl.col("slrt") == "yes").cast(pl.Float64).alias("slrt_yes"),
        (pl.col("pfirrmann") == "severe").cast(pl.Float64).alias("pfirrmann_severe"),
        (pl.col("duration") == "over_3m").cast(pl.Float64).alias("duration_long"),
    )


def _paths(folder: str, pid: str) -> dict[str, str]:
    base = f"{folder}/" if folder else ""
    cols = {}
    for roi in ("disc", "muscle"):
        cols[f"{roi}_image"] = f"{base}images/{pid}_{roi}.nii.gz"
        for rater in RATERS:
            cols[f"{roi}_mask_{rater}"] = f"{base}masks/{rater}/{pid}_{roi}.nii.gz"
    return cols


def _scan(rng: np.random.Generator, img: np.ndarray, c: Centre) -> tuple[np.ndarray, float]:
    """The centre's scanner: gain (±3 % per patient), offset and extra noise; int16 storage.

    The training centre's scanner is the phantoms' own (gain 1, nothing added)."""
    if c is TRAINING:
        return to_int16(img), 1.0
    gain = c.scale * rng.uniform(0.97, 1.03)
    img = img * gain + c.offset + c.noise * rng.standard_normal(img.shape, dtype=np.float32)
    return to_int16(img), gain


def _patient(out: Path, c: Centre, pid: str, rng: np.random.Generator, row: dict) -> float:
    """Render, shift and write one patient's two volumes and four masks; returns the gain."""
    grade = "III" if row["pfirrmann"] == "mild" else str(rng.choice(["IV", "V"], p=[0.8, 0.2]))
    modic = "normal" if row["modic"] == "no" else str(rng.choice(["I", "II"], p=[0.3, 0.7]))
    disc = anatomy_disc.render_disc(rng, row["disc_heterogeneity"], grade,
                                    MSU_HERNIATION[row["msu"][0]], modic)
    muscle = anatomy_muscle.render_muscle(rng, row["muscle_fat"], row["bmi"])
    geometry = {"disc": (anatomy_disc.SPACING, anatomy_disc.DIRECTION),
                "muscle": (anatomy_muscle.SPACING, anatomy_muscle.DIRECTION)}
    paths = _paths(c.folder, pid)
    for roi, (img, truth) in (("disc", disc), ("muscle", muscle)):
        stored, gain = _scan(rng, img, c)
        write_volume(stored, *geometry[roi], out / paths[f"{roi}_image"])
        for rater, mask in rater_masks(rng, truth).items():
            write_volume(mask, *geometry[roi], out / paths[f"{roi}_mask_{rater}"])
    return gain


def _cohort(seed: int, k: int, c: Centre, n: int) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    """One centre's truth table (latents, terms, outcome) and clinical table."""
    ids = patient_ids(n, c.prefix)
    rngs = [rng_for(seed, 1, k, i) for i in range(n)]
    latents = pl.DataFrame([dict(zip(("disc_heterogeneity", "muscle_fat"),
                                     r.standard_normal(2))) for r in rngs])
    cohort = rng_for(seed, 0, k)
    clinical = _clinical(cohort, c, latents["muscle_fat"].to_numpy())
    events = int(round(c.surgery * n))
    truth = assign_outcome(cohort, pl.concat([latents, _terms(clinical)], how="horizontal"),
                           events, WEIGHTS, OUTCOME)
    truth = truth.select(pl.Series("patient_id", ids), pl.lit(c.name).alias("centre"), pl.all())
    return truth, clinical, rngs


COVARIATES = [
    Covariate(name="age", type="continuous", label="Age (years)"),
    Covariate(name="sex", type="binary", levels=["female", "male"], label="Sex"),
    Covariate(name="bmi", type="continuous", label="BMI (kg/m²)"),
    Covariate(name="odi", type="continuous", label="ODI (%)"),
    Covariate(name="duration", type="binary", levels=["under_3m", "over_3m"],
              label="Symptom duration"),
    Covariate(name="slrt", type="binary", levels=["no", "yes"], label="Straight-leg raise"),
    Covariate(name="pfirrmann", type="binary", levels=["mild", "severe"],
              label="Pfirrmann grade"),
    Covariate(name="msu", type="nominal", levels=MSU, label="MSU classification"),
    Covariate(name="mmfi", type="binary", levels=["mild", "severe"],
              label="Multifidus fat infiltration"),
    Covariate(name="modic", type="binary", levels=["no", "yes"], label="Modic change"),
]
FAN_MODELS = ("lr", "svm", "knn", "decision_tree", "random_forest", "extra_trees", "xgboost",
              "mlp", "lightgbm")


def fan_config(seed: int) -> StudyConfig:
    """The demo's run-time settings with Fan's outcome, covariates and external design."""
    return variant_config(
        seed, name="spinedlr demo study (synthetic, two centres, Fan et al. 2024-like)",
        outcome=OUTCOME, outcome_label="Surgery", comparator="pfirrmann", covariates=COVARIATES,
        design=DesignSettings(
            validation=External(scheme="external", manifest=EXTERNAL_MANIFEST),
            models=[ModelSettings(name=m) for m in FAN_MODELS]),
    )


def write_fan2024(out: Path, n: int = DEFAULT_N, seed: int = 0) -> None:
    """Write the two-centre study into ``out`` (an earlier demo there is replaced)."""
    if n < 12:
        raise InputError(f"--n must be at least 12 patients for two centres, got {n}")
    out = Path(out)
    folders = [f"{base}{sub}" for base in ("", "external/")
               for sub in ("images", *(f"masks/{r}" for r in RATERS))]
    prepare_folder(out, folders)
    sizes = {TRAINING.name: n - n // 3, EXTERNAL.name: n // 3}
    truths = []
    with Progress(transient=True) as progress:
        task = progress.add_task("demo patients", total=n)
        for k, c in enumerate(CENTRES):
            truth, clinical, rngs = _cohort(seed, k, c, sizes[c.name])
            rows = pl.concat([truth, clinical], how="horizontal").iter_rows(named=True)
            gains = []
            for row, rng in zip(rows, rngs):
                gains.append(_patient(out, c, row["patient_id"], rng, row))
                progress.advance(task)
            paths = pl.DataFrame([_paths("", p) for p in truth["patient_id"]])  # beside it
            manifest = pl.concat([truth.select("patient_id", "centre", OUTCOME), clinical,
                                  paths], how="horizontal")
            manifest.write_csv(out / (c.folder or ".") / "manifest.csv")
            truths.append(truth.with_columns(
                pl.Series("scanner_gain", gains), pl.lit(c.offset).alias("scanner_offset"),
                pl.lit(c.noise).alias("scanner_noise")))
    dump_config(fan_config(seed), out / "study.yaml")
    pl.concat(truths).write_parquet(out / "truth.parquet")
