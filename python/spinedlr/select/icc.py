"""Inter-rater reliability (ICC) of every feature at once, and the ICC filter transformer.

Why vectorised instead of calling ``pingouin.intraclass_corr`` per feature: a study has
~1,300 features × 2 ROIs × 2 families; pingouin rebuilds a long table and an ANOVA per call
(seconds per ROI). The formulas below are pingouin's (McGraw & Wong 1996; Shrout & Fleiss
1979, ANOVA on complete balanced data) applied to all features in one array pass, and a test
checks them against pingouin on its own example data set.

Default form ``ICC2`` = ICC(2,1) = pingouin's ``ICC(A,1)``: two-way random effects, absolute
agreement, single rater. Why: the two raters are a sample of the radiologists who would
outline the ROI in practice (random, not fixed, raters), a systematic offset between raters
changes the feature value a Radscore sees (so agreement, not mere consistency, is what
matters), and the model is applied to one rater's masks (single, not averaged, measurement).
This is the form Koo & Li (2016) recommend for inter-rater reliability of radiomics.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import polars as pl
from scipy.stats import f as fdist
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

log = logging.getLogger(__name__)

IccForm = Literal["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
#: pingouin's names of the six forms (its ``Type`` column).
PINGOUIN_TYPE = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(A,1)",
    "ICC3": "ICC(C,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(A,k)",
    "ICC3k": "ICC(C,k)",
}


def icc_arrays(ratings: np.ndarray, form: IccForm = "ICC2", alpha: float = 0.05) -> dict:
    """ICC, F test and (1 - alpha) CI for each feature of ``ratings`` (n targets, k raters, p).

    Returns a dict of length-p arrays: icc, ci_low, ci_high, f, df1, df2, pval. Features that
    are constant over every target and rater have no defined ICC: they get NaN here and the
    caller must report them (``icc_table`` does, with a note).
    """
    r = np.asarray(ratings, dtype=float)
    if r.ndim == 2:
        r = r[:, :, None]
    n, k, _ = r.shape
    if n < 2 or k < 2:
        raise ValueError(f"ICC needs at least 2 targets and 2 raters, got {n} and {k}")
    grand = r.mean(axis=(0, 1))
    ss_rows = k * ((r.mean(axis=1) - grand) ** 2).sum(axis=0)
    ss_cols = n * ((r.mean(axis=0) - grand) ** 2).sum(axis=0)
    ss_tot = ((r - grand) ** 2).sum(axis=(0, 1))
    resid = r - r.mean(axis=1, keepdims=True) - r.mean(axis=0, keepdims=True) + grand
    ss_err = (resid**2).sum(axis=(0, 1))
    df1, dfw, dfe = n - 1, n * (k - 1), (n - 1) * (k - 1)
    msb, msj = ss_rows / df1, ss_cols / (k - 1)
    mse, msw = ss_err / dfe, (ss_cols + ss_err) / dfw
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if form in ("ICC1", "ICC1k", "ICC3", "ICC3k"):
            # One-way (ICC1) and two-way mixed consistency (ICC3) differ only in the error
            # mean square and its degrees of freedom.
            ms, df2 = (msw, dfw) if form.startswith("ICC1") else (mse, dfe)
            fval = msb / ms
            fl, fu = fval / fdist.ppf(q, df1, df2), fval * fdist.ppf(q, df2, df1)
            if not form.endswith("k"):
                icc = (msb - ms) / (msb + (k - 1) * ms)
                lo, hi = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
            else:
                icc = (msb - ms) / msb
                lo, hi = 1 - 1 / fl, 1 - 1 / fu
        elif form in ("ICC2", "ICC2k"):
            fval, df2 = msb / mse, dfe
            icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
            fj = msj / mse
            vn = dfe * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            v = vn / vd
            f2u, f2l = fdist.ppf(q, n - 1, v), fdist.ppf(q, v, n - 1)
            den = k * msj + (k * n - k - n) * mse
            lo = n * (msb - f2u * mse) / (f2u * den + n * msb)
            hi = n * (f2l * msb - mse) / (den + n * f2l * msb)
            if form == "ICC2":
                icc = icc2
            else:
                icc = (msb - mse) / (msb + (msj - mse) / n)
                lo, hi = lo * k / (1 + lo * (k - 1)), hi * k / (1 + hi * (k - 1))
        else:
            raise ValueError(f"unknown ICC form {form!r}; use one of {list(PINGOUIN_TYPE)}")
        pval = fdist.sf(fval, df1, df2)
    # Identical raters: MSE = 0, so F and its CI bounds are infinite but the ICC is exactly 1.
    # (relative tolerance: column means of identical raters can differ from the grand mean
    # in the last bit)
    perfect = (ss_err + ss_cols <= 1e-20 * ss_tot) & (ss_rows > 0)
    icc = np.where(perfect, 1.0, icc)
    lo = np.where(perfect, 1.0, lo)
    hi = np.where(perfect, 1.0, hi)
    const = ss_tot == 0
    for a in (icc, lo, hi, fval, pval):
        a[const] = np.nan
    return {
        "icc": icc, "ci_low": lo, "ci_high": hi, "f": fval,
        "df1": np.full(icc.shape, df1), "df2": np.full(icc.shape, df2), "pval": pval,
    }


def icc_table(
    rater_a: pl.DataFrame,
    rater_b: pl.DataFrame,
    features: list[str],
    id_col: str = "patient_id",
    form: IccForm = "ICC2",
    threshold: float = 0.75,
) -> pl.DataFrame:
    """ICC table (feature, icc, ci_low, ci_high, f, df1, df2, pval, n, form, kept, note).

    Uses the patients both raters outlined (the second rater often outlines a subset).
    ``kept`` = ICC > threshold; a constant feature has null ICC and the note says so.
    """
    paired = rater_a.select([id_col, *features]).join(
        rater_b.select([id_col, *features]), on=id_col, how="inner", suffix="__b"
    )
    if paired.height < 2:
        raise ValueError(
            f"ICC needs patients outlined by both raters; only {paired.height} in common"
        )
    a = paired.select(features).to_numpy().astype(float)
    b = paired.select([f"{f}__b" for f in features]).to_numpy().astype(float)
    res = icc_arrays(np.stack([a, b], axis=1), form=form)
    const = np.isnan(res["icc"])
    if const.any():
        log.warning("ICC: %d feature(s) constant in both raters; dropped", int(const.sum()))
    out = pl.DataFrame({"feature": features, **{k: v for k, v in res.items()}})
    out = out.with_columns(
        pl.col("icc", "ci_low", "ci_high", "f", "pval").fill_nan(None),
        pl.lit(paired.height).alias("n"),
        pl.lit(form).alias("form"),
        pl.Series("kept", ~const & (np.nan_to_num(res["icc"], nan=-np.inf) > threshold)),
        pl.Series("note", np.where(const, "constant in both raters", "")).replace("", None),
    )
    return out


class IccFilter(SelectorMixin, BaseEstimator):
    """Keep the features whose inter-rater ICC exceeds ``threshold``.

    ICC is computed before modelling on the paired rater tables (``icc_table``); it never
    looks at the outcome, so it cannot leak it and need not be recomputed inside a
    resample. The filter therefore takes the per-column ICC values (aligned with the
    columns it will see) and ``fit`` only checks the width. A NaN ICC never passes.
    """

    def __init__(self, icc: np.ndarray | None = None, threshold: float = 0.75):
        self.icc = icc
        self.threshold = threshold

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite=False)
        icc = np.asarray(self.icc, dtype=float)
        if icc.shape != (X.shape[1],):
            raise ValueError(f"IccFilter got {icc.shape} ICC values for {X.shape[1]} columns")
        self.support_ = np.nan_to_num(icc, nan=-np.inf) > self.threshold
        if not self.support_.any():
            raise ValueError(f"no feature has ICC > {self.threshold}; check the rater tables")
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_
