"""The synthetic demo's latent truth beside the fitted nomogram (Fan et al.-like demo only).

``spinedlr demo --design fan2024`` records every patient's latent linear predictor in
``truth.parquet`` beside ``study.yaml``. The AUC of that linear predictor is what the true
model reaches on a cohort (a fitted model can exceed it by chance in a small one), so a correct
pipeline's nomogram should come close to it in the external cohort (issue 16 asks for 0.05).
Both AUCs are computed on the same patients: those the compare stage scored
(``compare/nomogram_scores``). A real study has no such file and gets no table.
"""

from __future__ import annotations

import polars as pl

from spinedlr import stats
from spinedlr.config import Study

TRUTH = "truth.parquet"


def latent_truth(study: Study) -> pl.DataFrame | None:
    """cohort, n, latent_auc, nomogram_auc, difference (nomogram − latent); None without a
    recorded truth or without the compare stage's scores."""
    truth_path = study.root / TRUTH
    scores_path = study.paths.compare_table("nomogram_scores")
    if not (truth_path.is_file() and scores_path.is_file()):
        return None
    truth = pl.read_parquet(truth_path).select(pl.col("patient_id").cast(pl.String), "linear_predictor")
    both = pl.read_parquet(scores_path).join(truth, on="patient_id", how="inner")
    rows = []
    for (cohort,), part in both.group_by("cohort", maintain_order=True):
        y = part["outcome"].to_list()
        latent = stats.fast_auc(y, part["linear_predictor"].to_list())
        fitted = stats.fast_auc(y, part["risk"].to_list())
        rows.append({"cohort": cohort, "n": part.height, "latent_auc": latent,
                     "nomogram_auc": fitted, "difference": fitted - latent})
    return pl.DataFrame(rows) if rows else None
