"""Radscore: the linear predictor (log-odds) of a logistic model on standardised features.

Radscore = intercept + Σ coef_j · (x_j − mean_j) / sd_j, with the training means and
sample SDs (ddof = 1, as R's ``sd()``). The formula is exported as JSON and CSV so anyone
can recompute it, and ``apply_formula`` scores new patients with exactly that arithmetic.

Perfect (or quasi-) separation makes the unpenalised maximum-likelihood coefficients
diverge. It is detected (fit not converged, a standardised |coef| > ``max_abs_coef``, or
the fitted linear predictor separates the classes completely) and handled by refitting
with a ridge penalty (C = ``ridge_C``); the adjustment is logged and written into the
formula (``adjustment``), never silent.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from spinedlr.errors import InputError
from spinedlr.outputs import write_atomic, write_text_atomic
from spinedlr.select.filters import binary_outcome

log = logging.getLogger(__name__)


class RadscoreLogit(ClassifierMixin, BaseEstimator):
    """Logistic regression whose ``decision_function`` is the Radscore."""

    def __init__(self, max_abs_coef: float = 10.0, ridge_C: float = 1.0):
        self.max_abs_coef = max_abs_coef
        self.ridge_C = ridge_C

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        self.classes_ = np.array([0, 1])
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0, ddof=1)
        self.sd_ = np.where(sd > 0, sd, 1.0)
        Z = (X - self.mean_) / self.sd_
        self.adjustment_ = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            m = LogisticRegression(C=np.inf, max_iter=5000).fit(Z, y)
        diverged = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        lp = m.decision_function(Z)
        separated = lp[y == 1].min() >= lp[y == 0].max()  # no finite maximum-likelihood fit
        if separated or diverged or np.abs(m.coef_).max() > self.max_abs_coef:
            self.adjustment_ = (
                f"separation: unpenalised fit diverged (max |coef| = {np.abs(m.coef_).max():.3g}); "
                f"refitted with ridge penalty C = {self.ridge_C}"
            )
            log.warning("Radscore: %s", self.adjustment_)
            m = LogisticRegression(C=self.ridge_C, max_iter=5000).fit(Z, y)
        self.coef_ = m.coef_.ravel().copy()
        self.intercept_ = float(m.intercept_[0])
        return self

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False)
        return self.intercept_ + ((X - self.mean_) / self.sd_) @ self.coef_

    def predict_proba(self, X) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(int)


def formula_dict(model: RadscoreLogit, features: list[str], **meta) -> dict:
    """The Radscore formula as a plain dict (what the JSON holds)."""
    return {
        "formula": "radscore = intercept + sum(coef * (value - mean) / sd)",
        "intercept": model.intercept_,
        "features": [
            {"feature": f, "coef": float(c), "mean": float(m), "sd": float(s)}
            for f, c, m, s in zip(features, model.coef_, model.mean_, model.sd_)
        ],
        "adjustment": model.adjustment_,
        **meta,
    }


def write_formula(formula: dict, json_path: Path) -> None:
    """Write the formula as JSON and as CSV (term, coef, mean, sd; intercept as first row)."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(json_path, json.dumps(formula, indent=2))
    feats = formula["features"]
    table = pl.DataFrame(
        {
            "term": ["(Intercept)", *[f["feature"] for f in feats]],
            "coef": [formula["intercept"], *[f["coef"] for f in feats]],
            "mean": [None, *[f["mean"] for f in feats]],
            "sd": [None, *[f["sd"] for f in feats]],
        },
        schema={"term": pl.String, "coef": pl.Float64, "mean": pl.Float64, "sd": pl.Float64},
    )
    write_atomic(json_path.with_suffix(".csv"), lambda tmp: table.write_csv(tmp, float_precision=17))


def read_formula(path: Path) -> dict:
    """Read a formula JSON written by ``write_formula``."""
    try:
        f = json.loads(Path(path).read_text())
        _ = f["intercept"], [(x["feature"], x["coef"], x["mean"], x["sd"]) for x in f["features"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a Radscore formula JSON ({err})") from None
    return f


def pca_block(pca, inputs: list[str], outputs: list[str]) -> dict:
    """What a formula needs to recompute principal components of deep features."""
    return {"inputs": inputs, "outputs": outputs, "mean": pca.mean_.tolist(),
            "components": pca.components_.tolist()}


def _add_components(block: dict, wide: pl.DataFrame, id_col: str) -> pl.DataFrame:
    missing = [n for n in block["inputs"] if n not in wide.columns]
    if missing:
        raise InputError(f"the feature table lacks PCA input feature(s): {', '.join(missing[:10])}")
    X = wide.select(block["inputs"]).to_numpy().astype(float)
    pcs = (X - np.array(block["mean"])) @ np.array(block["components"]).T
    return wide.with_columns(
        [pl.Series(name, pcs[:, i]) for i, name in enumerate(block["outputs"])]
    )


def formula_terms(formula: dict, wide: pl.DataFrame, id_col: str = "patient_id") -> pl.DataFrame:
    """(id, one column per term of the formula): its features as they enter the Radscore,
    principal components computed from their inputs, before centring and scaling. What a
    classifier compared on "the selected features" reads (spinedlr.compare)."""
    if formula.get("pca"):
        wide = _add_components(formula["pca"], wide, id_col)
    names = [f["feature"] for f in formula["features"]]
    missing = [n for n in names if n not in wide.columns]
    if missing:
        raise InputError(f"the feature table lacks Radscore feature(s): {', '.join(missing)}")
    return wide.select(id_col, *names)


def apply_formula(formula: dict, wide: pl.DataFrame, id_col: str = "patient_id") -> pl.DataFrame:
    """Radscore of every row of a wide table (one column per feature) → (id, radscore).

    The arithmetic is the same as ``RadscoreLogit.decision_function`` term by term, so
    training patients get bit-identical Radscores.
    """
    names = [f["feature"] for f in formula["features"]]
    X = formula_terms(formula, wide, id_col).select(names).to_numpy().astype(float)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"patient {wide[id_col][int(i)]}: feature {names[j]} is {X[i, j]} (not finite)"
        )
    mean = np.array([f["mean"] for f in formula["features"]])
    sd = np.array([f["sd"] for f in formula["features"]])
    coef = np.array([f["coef"] for f in formula["features"]])
    score = formula["intercept"] + ((X - mean) / sd) @ coef
    return pl.DataFrame({id_col: wide[id_col], "radscore": score})
