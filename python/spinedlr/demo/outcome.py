"""The demo study's latent outcome model (what a correct pipeline should recover).

Each patient has two image latents, both standard normal and independent of everything else:

* ``disc_heterogeneity`` (h): drives the texture of the responsible disc — patchy nucleus
  signal, dark clefts and annular fissures, fine granularity (:mod:`anatomy_disc`);
* ``muscle_fat`` (m): drives fatty infiltration of the paraspinal muscles — bright
  intramuscular streaks and patches, slight multifidus atrophy (:mod:`anatomy_muscle`);

and one clinical term, ``duration_effect`` (d) = the standardised log disease duration.
Recurrence follows a logistic model

    logit P(recurrence) = a + 2.5 h + 1.55 m + 0.7 d + 0 · Pfirrmann

realised as a latent-utility draw: ``risk = 2.5 h + 1.55 m + 0.7 d + ε`` with ε standard
logistic, and the ``events`` patients with the highest risk have the outcome. That is exactly
the logistic model above with the intercept a = -(risk threshold) fixed so that the event
count is exact (39 of 170 as in the paper). With these weights the latents alone give AUCs of
about 0.85 (h), 0.72 (m) and 0.6 (d) in expectation, the disc and muscle Radscore AUCs of
the paper (a given seed varies by a few hundredths, as a real cohort would).

The other covariates are then drawn given the outcome from the paper's per-group Table 1
(:mod:`spinedlr.demo.clinical`), so they are as weakly associated with recurrence as there;
Pfirrmann grade, the paper's comparator (AUC 0.506), has the same distribution in both
groups. Images are rendered last, from the latents and the covariates they depict
(Pfirrmann grade, Modic change, herniation type, BMI).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spinedlr.demo.clinical import DURATION_LOG_MU, DURATION_LOG_SIGMA

WEIGHTS = {"disc_heterogeneity": 2.5, "muscle_fat": 1.55, "duration_effect": 0.7}


def duration_effect(duration: np.ndarray) -> np.ndarray:
    """Log disease duration standardised with the generating log-normal's parameters."""
    return (np.log(duration) - DURATION_LOG_MU) / DURATION_LOG_SIGMA


def assign_outcome(
    rng: np.random.Generator, latents: pl.DataFrame, events: int,
    weights: dict[str, float] = WEIGHTS, outcome: str = "recurrence",
) -> pl.DataFrame:
    """Add ``linear_predictor`` (logit incl. intercept), ``risk`` and ``outcome`` columns.

    ``latents`` holds the columns of ``weights`` (the other demo designs pass their own
    latent model). Ties in risk are impossible in practice (continuous noise), so the event
    count is exactly ``events``.
    """
    n = latents.height
    lp = sum(w * latents[k].to_numpy() for k, w in weights.items())
    risk = lp + rng.logistic(0.0, 1.0, n)
    order = np.argsort(-risk, kind="stable")
    threshold = (risk[order[events - 1]] + risk[order[events]]) / 2
    y = np.zeros(n, dtype=np.int64)
    y[order[:events]] = 1
    return latents.with_columns(
        pl.Series("linear_predictor", lp - threshold),
        pl.Series("risk", risk - threshold),
        pl.Series(outcome, y),
    )
