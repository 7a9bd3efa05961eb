"""Clinical-factor selection and external calibration through the R package (rpy2).

Thin calls of the R functions of the same name (``?spinedlr::clinical_selection``,
``?spinedlr::external_calibration``), so the pipeline and a statistician in R get the same
Table 3 and the same calibration in the large and slope.
"""

from __future__ import annotations

from typing import Sequence

import polars as pl

from spinedlr.stats import Separation
from spinedlr.stats.bridge import call

__all__ = ["clinical_selection", "external_calibration"]


def clinical_selection(data: pl.DataFrame, outcome: str, candidates: Sequence[str], p_enter: float = 0.05,
                       conf_level: float = 0.95, separation: Separation = "firth") -> pl.DataFrame:
    """Univariable logistic regression of each candidate, then one multivariable model of those
    with P < ``p_enter`` (Fan et al.'s Table 3): per term OR with Wald CI, P, the variable's
    joint Wald P and whether it entered (columns on the R help page)."""
    return call("clinical_selection", data=data, outcome=outcome, candidates=list(candidates),
                p_enter=p_enter, conf_level=conf_level, separation=separation)


def external_calibration(risk: Sequence[float], outcome: Sequence[int], conf_level: float = 0.95) -> pl.DataFrame:
    """Calibration in the large (intercept with logit(risk) as offset; ideal 0) and slope
    (ideal 1) of a frozen model's risks in an external cohort, with Wald CIs and P, and O/E."""
    return call("external_calibration", risk=list(risk), outcome=list(outcome), conf_level=conf_level)
