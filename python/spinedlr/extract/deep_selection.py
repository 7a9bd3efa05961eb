"""The study's deep-feature selection module, made precise.

The study's text: "a feature library from the segmentation set, unsupervised clustering into
two clusters, similarity of clusters to the library to keep the most informative features". It
gives no formulas; this is exactly what spinedlr implements (per ROI, no outcome used, so it
cannot leak outcome information into later selection):

1. Library: GAP-down4 features of EVERY ROI-containing slice of the segmentation set (the
   network's training rater's masks, all patients), cropped exactly like the study features.
   Per feature j: library mean mu_j and standard deviation sd_j (ddof 0).
2. Features with sd_j = 0 in the library (channels that never vary, e.g. dead ReLUs) carry no
   information: score 0, never kept.
3. The study matrix X (one row per patient: the training rater's per-ROI deep features) is put on
   the library's scale: Z = (X - mu) / sd.
4. k-means with two clusters (k = n_clusters, n_init 10, seeded with the study seed) on the rows
   of Z: two unsupervised patient groups with centroids c_1, c_2 (in library-SD units, so each
   centroid coordinate IS the cluster's distance from the library on that feature; 0 = the
   library's typical value).
5. Score of feature j = the spread of the clusters' distances to the library on j:
   max_k c_kj - min_k c_kj (for two clusters |c_1j - c_2j|). A feature whose clusters sit at
   the same distance from the library does not tell the groups apart; a large spread means the
   feature separates patient groups by several library standard deviations.
6. Keep the ceil(keep_fraction x C) highest-scoring features (ties broken by feature order).
   Each cluster's overall similarity to the library, exp(-mean_j |c_kj|), is reported too.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from sklearn.cluster import KMeans


def select_deep(
    library: np.ndarray, study: np.ndarray, names: list[str], n_clusters: int = 2,
    keep_fraction: float = 0.4, seed: int = 0,
) -> tuple[pl.DataFrame, dict]:
    """Score and select deep features; returns the per-feature table and cluster summary."""
    mu = library.mean(axis=0)
    sd = library.std(axis=0)
    alive = sd > 0
    z = np.zeros_like(study, dtype=np.float64)
    z[:, alive] = (study[:, alive] - mu[alive]) / sd[alive]
    k = min(n_clusters, len(study))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
    centres = km.cluster_centers_
    score = np.where(alive, centres.max(axis=0) - centres.min(axis=0), 0.0)
    n_keep = min(int(alive.sum()), math.ceil(keep_fraction * len(names)))
    order = np.lexsort((np.arange(len(names)), -score))  # score desc, then feature order
    kept = np.zeros(len(names), dtype=bool)
    kept[order[:n_keep]] = True
    table = pl.DataFrame({
        "feature": names, "library_mean": mu, "library_sd": sd,
        **{f"cluster{c + 1}_z": centres[c] for c in range(k)},
        "score": score, "rank": np.argsort(order) + 1, "kept": kept,
    })
    summary = {
        "n_library": int(len(library)), "n_patients": int(len(study)),
        "cluster_sizes": np.bincount(km.labels_, minlength=k).tolist(),
        "cluster_similarity_to_library": [
            float(np.exp(-np.abs(centres[c][alive]).mean())) if alive.any() else 0.0
            for c in range(k)
        ],
        "n_dead": int((~alive).sum()), "n_kept": int(n_keep),
    }
    return table, summary
