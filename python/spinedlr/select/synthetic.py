"""Synthetic feature tables with planted signal (tests, benchmark, sanity checks of a setup).

Features (columns of the rater-1 matrix):
  ``inf_0..inf_{k-1}``  informative: shifted by ``effect`` SDs in patients with the outcome;
  ``red_0..red_{k-1}``  redundant: a near-copy (r ≈ 0.98) of the informative feature;
  ``noise_*``           pure noise;
  ``shaky_*``           noise that the second rater measures very differently (low ICC).
Rater 2 = rater 1 + small measurement error (large for ``shaky_*``).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def planted(seed: int, n: int = 170, events: int = 39, k: int = 3, noise: int = 100,
            shaky: int = 10, effect: float = 1.3, y: np.ndarray | None = None):
    """Return (X1, X2, y, names); pass ``y`` to plant signal for an existing outcome."""
    rng = np.random.default_rng(seed)
    if y is None:
        y = np.zeros(n, dtype=int)
        y[rng.choice(n, events, replace=False)] = 1
    n = len(y)
    inf = rng.normal(size=(n, k)) + effect * y[:, None]
    red = inf * 2.0 + 5.0 + 0.2 * rng.normal(size=(n, k))
    X1 = np.hstack([inf, red, rng.normal(size=(n, noise)), rng.normal(size=(n, shaky))])
    err = np.full(X1.shape[1], 0.1)
    err[-shaky:] = 3.0
    X2 = X1 + rng.normal(size=X1.shape) * err
    names = ([f"inf_{i}" for i in range(k)] + [f"red_{i}" for i in range(k)]
             + [f"noise_{i}" for i in range(noise)] + [f"shaky_{i}" for i in range(shaky)])
    return X1, X2, y, names


def long_table(X: np.ndarray, names: list[str], ids: list[str], roi: str, rater: str,
               image_type: str = "original", feature_class: str = "firstorder") -> pl.DataFrame:
    """A LONG feature table in the extraction contract's layout."""
    n, p = X.shape
    return pl.DataFrame({
        "patient_id": np.repeat(ids, p),
        "roi": roi,
        "rater": rater,
        "image_type": image_type,
        "feature_class": feature_class,
        "feature": np.tile(names, n),
        "value": X.ravel().astype(float),
    })
