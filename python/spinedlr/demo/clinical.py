"""Clinical covariates drawn to match Table 1 of the reference study (Zhang et al. 2026).

Disease duration enters the outcome model (:mod:`spinedlr.demo.outcome`) and is drawn first,
for everybody alike, from a log-normal with the published mean and SD. The other 13
covariates are drawn *given the outcome*, from the paper's per-group columns (non-PRLDH,
PRLDH): they carry exactly the weak, non-significant association with recurrence that the
paper reports, and Pfirrmann grade, whose two columns are nearly identical, carries none.

Why exact counts for categorical covariates: sampling each patient's level independently
would drift by several percentage points from the published table, and nobody comparing the
demo's Table 1 with the paper's could tell drift from a bug. Per-group counts are apportioned
to the group sizes by largest remainder and then shuffled, so with 131 + 39 patients they
equal the paper's counts. Age and BMI come from normals with each group's mean and SD.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

# Table 1: level -> (count in non-PRLDH, count in PRLDH). Level names are those of config.py.
TABLE1_COUNTS: dict[str, dict[str | int, tuple[int, int]]] = {
    "gender": {"female": (59, 13), "male": (72, 26)},
    "smoking": {"no": (98, 26), "yes": (33, 13)},
    "diabetes": {"no": (106, 27), "yes": (25, 12)},
    "hypertension": {"no": (83, 23), "yes": (48, 16)},
    "vas_pre": {3: (1, 0), 4: (5, 3), 5: (62, 17), 6: (53, 15), 7: (6, 4), 8: (4, 0)},
    "vas_post": {2: (103, 31), 3: (28, 8)},
    "occupation": {
        "office_worker": (47, 16), "laborer": (11, 4), "farmer": (57, 15), "self_employed": (16, 4)
    },
    "pfirrmann": {"III": (49, 15), "IV": (68, 20), "V": (14, 4)},
    "modic": {"normal": (36, 9), "I": (1, 0), "II": (83, 24), "III": (11, 6)},
    "herniation_type": {"bulge": (19, 7), "herniation": (99, 31), "prolapse": (13, 1)},
    "segment": {"L3/4": (6, 0), "L4/5": (85, 22), "L5/S1": (40, 17)},
}
# Table 1 mean ± SD per group (non-PRLDH, PRLDH) and the published age range 21-88.
AGE = ((58.27, 14.64), (59.00, 13.64))
AGE_RANGE = (21, 88)
BMI = ((24.44, 3.46), (25.37, 3.12))
BMI_RANGE = (16.0, 40.0)
DURATION_MEAN, DURATION_SD = 4.06, 6.08  # whole cohort

# Log-normal with the published mean and SD: sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2/2.
DURATION_LOG_SIGMA = math.sqrt(math.log1p((DURATION_SD / DURATION_MEAN) ** 2))
DURATION_LOG_MU = math.log(DURATION_MEAN) - DURATION_LOG_SIGMA**2 / 2

COVARIATE_ORDER = [
    "age", "gender", "bmi", "smoking", "duration", "diabetes", "hypertension", "vas_pre",
    "vas_post", "occupation", "pfirrmann", "modic", "herniation_type", "segment",
]


def apportion(counts: dict, n: int) -> list:
    """Scale reference counts to ``n`` patients by largest remainder; one entry per patient."""
    total = sum(counts.values())
    exact = {k: v * n / total for k, v in counts.items()}
    floor = {k: int(math.floor(x)) for k, x in exact.items()}
    short = n - sum(floor.values())
    for k in sorted(exact, key=lambda k: floor[k] - exact[k])[:short]:
        floor[k] += 1
    return [k for k, c in floor.items() for _ in range(c)]


def draw_duration(rng: np.random.Generator, n: int) -> np.ndarray:
    """Disease duration in years (one decimal, at least 0.1)."""
    return np.maximum(np.round(rng.lognormal(DURATION_LOG_MU, DURATION_LOG_SIGMA, n), 1), 0.1)


def draw_covariates(
    rng: np.random.Generator, outcome: np.ndarray, duration: np.ndarray
) -> pl.DataFrame:
    """The 14 reference covariates, one row per patient, given outcome and duration."""
    n = len(outcome)
    cols: dict[str, list] = {name: [None] * n for name in COVARIATE_ORDER}
    cols["duration"] = duration.tolist()
    for group in (0, 1):
        idx = np.flatnonzero(outcome == group)
        size = len(idx)
        (am, asd), (bm, bsd) = AGE[group], BMI[group]
        age = np.rint(np.clip(rng.normal(am, asd, size), *AGE_RANGE)).astype(int)
        bmi = np.round(np.clip(rng.normal(bm, bsd, size), *BMI_RANGE), 1)
        for j, i in enumerate(idx):
            cols["age"][i], cols["bmi"][i] = int(age[j]), float(bmi[j])
        for name, counts in TABLE1_COUNTS.items():
            levels = apportion({k: v[group] for k, v in counts.items()}, size)
            for j, i in zip(rng.permutation(size), idx):
                cols[name][i] = levels[j]
    return pl.DataFrame(cols)
