"""Clinical statistics through the R package `spinedlr` (rpy2): Polars in, Polars out.

Every function here is a thin call of the R function of the same name, so a statistician
using R on the exported CSVs and the pipeline get the same numbers. Argument meanings and
output columns are documented in the R help pages (``?spinedlr::roc_summary``); R errors
arrive as :class:`StatsError` with R's message.
"""

from __future__ import annotations

from typing import Literal, Sequence

import polars as pl

from spinedlr.stats.bridge import StatsError, call, call_value, r_versions

__all__ = [
    "StatsError", "r_versions", "roc_summary", "confusion_metrics", "fast_auc", "compare_auc",
    "partial_auc", "fast_partial_auc", "compare_partial_auc", "fit_models", "predict_models",
    "validate_model", "calibration", "hosmer_lemeshow", "decision_curve", "clinical_impact",
    "interaction_groups", "table_one", "sparse_levels", "Separation",
]

Names = Sequence[str]
# What the models do when the maximum likelihood estimate does not exist (?spinedlr::fit_models):
# Firth's penalised likelihood, refuse with advice, or keep the diverging fit flagged.
Separation = Literal["firth", "refuse", "ml"]


def roc_summary(data: pl.DataFrame, score: str, outcome: str, conf_level: float = 0.95) -> pl.DataFrame:
    """AUC (DeLong CI), Youden cut-off and exact-CI accuracy/sensitivity/specificity/PPV/NPV."""
    return call("roc_summary", data=data, score=score, outcome=outcome, conf_level=conf_level)


def confusion_metrics(tp: int, fp: int, tn: int, fn: int, conf_level: float = 0.95) -> pl.DataFrame:
    """Accuracy, sensitivity, specificity, PPV, NPV with Clopper-Pearson intervals."""
    return call("confusion_metrics", tp=tp, fp=fp, tn=tn, fn=fn, conf_level=conf_level)


def fast_auc(y: Sequence[int], x: Sequence[float]) -> float:
    """Rank-based AUC (equals pROC's)."""
    return call_value("fast_auc", y=y, x=x)


def compare_auc(data: pl.DataFrame, score1: str, score2: str, outcome: str, conf_level: float = 0.95) -> pl.DataFrame:
    """Paired DeLong test of two AUCs (Z, P, difference with CI)."""
    return call("compare_auc", data=data, score1=score1, score2=score2, outcome=outcome, conf_level=conf_level)


def partial_auc(data: pl.DataFrame, score: str, outcome: str, range: tuple[float, float] = (1, 0.8),
                focus: str = "specificity", correct: bool = False) -> pl.DataFrame:
    """Partial AUC over a specificity (or sensitivity) range, pROC's definition."""
    return call("partial_auc", data=data, score=score, outcome=outcome, range=list(range), focus=focus, correct=correct)


def fast_partial_auc(y: Sequence[int], x: Sequence[float], range: tuple[float, float] = (1, 0.8),
                     focus: str = "specificity", correct: bool = False) -> float:
    """The fast partial AUC used in the bootstrap (equals pROC's)."""
    return call_value("fast_partial_auc", y=y, x=x, range=list(range), focus=focus, correct=correct)


def compare_partial_auc(data: pl.DataFrame, score1: str, score2: str, outcome: str,
                        range: tuple[float, float] = (1, 0.8), focus: str = "specificity",
                        correct: bool = False, boot_n: int = 2000, seed: int | None = None,
                        conf_level: float = 0.95) -> pl.DataFrame:
    """Paired stratified bootstrap comparison of two partial AUCs (no DeLong for pAUC)."""
    return call("compare_partial_auc", data=data, score1=score1, score2=score2, outcome=outcome,
                range=list(range), focus=focus, correct=correct, boot_n=boot_n, seed=seed,
                conf_level=conf_level)


def fit_models(data: pl.DataFrame, outcome: str, scores: Names, covariates: Names | None = None,
               conf_level: float = 0.95, separation: Separation = "firth") -> pl.DataFrame:
    """Unadjusted and adjusted logistic models: B, SE, P, OR (profile CI), apparent AUC,
    estimation ("ml"/"firth") and mle_exists."""
    return call("fit_models", data=data, outcome=outcome, scores=list(scores),
                covariates=None if not covariates else list(covariates), conf_level=conf_level,
                separation=separation)


def sparse_levels(data: pl.DataFrame, outcome: str, covariates: Names) -> pl.DataFrame:
    """Levels of nominal/binary covariates with no events or only events (covariate, level,
    n, n_events): each makes the maximum likelihood estimate of models with it non-existent."""
    return call("sparse_levels", data=data, outcome=outcome, covariates=list(covariates))


def predict_models(data: pl.DataFrame, outcome: str, scores: Names, covariates: Names | None = None,
                   id: str | None = None, separation: Separation = "firth") -> pl.DataFrame:
    """Linear predictors and risks of the models of :func:`fit_models`, long format."""
    return call("predict_models", data=data, outcome=outcome, scores=list(scores),
                covariates=None if not covariates else list(covariates), id=id, separation=separation)


def validate_model(data: pl.DataFrame, outcome: str, scores: Names, covariates: Names | None = None,
                   loocv: bool = True, k: int = 10, boot_n: int = 1000, seed: int | None = None,
                   conf_level: float = 0.95, separation: Separation = "firth") -> pl.DataFrame:
    """LOOCV, k-fold, out-of-bag bootstrap AUCs and Harrell's optimism correction; n_failed
    counts refits excluded (no convergence, or a separated maximum likelihood refit)."""
    return call("validate_model", data=data, outcome=outcome, scores=list(scores),
                covariates=None if not covariates else list(covariates), loocv=loocv, k=k,
                boot_n=boot_n, seed=seed, conf_level=conf_level, separation=separation)


def calibration(data: pl.DataFrame, outcome: str, score: str, covariates: Names | None = None,
                B: int = 1000, seed: int | None = None, separation: Separation = "firth") -> pl.DataFrame:
    """Bootstrap calibration curves (rms::calibrate) of the unadjusted and adjusted models."""
    return call("calibration", data=data, outcome=outcome, score=score,
                covariates=None if not covariates else list(covariates), B=B, seed=seed,
                separation=separation)


def hosmer_lemeshow(y: Sequence[int], p: Sequence[float], g: int = 10) -> pl.DataFrame:
    """Hosmer-Lemeshow test over g risk groups (df = groups formed - 2)."""
    return call("hosmer_lemeshow", y=list(y), p=list(p), g=g)


def decision_curve(data: pl.DataFrame, outcome: str, scores: Names,
                   thresholds: Sequence[float] | None = None) -> pl.DataFrame:
    """Net benefit and net interventions avoided (dcurves semantics: risk >= threshold)."""
    kw = {} if thresholds is None else {"thresholds": list(thresholds)}
    return call("decision_curve", data=data, outcome=outcome, scores=list(scores), **kw)


def clinical_impact(data: pl.DataFrame, outcome: str, score: str, thresholds: Sequence[float] | None = None,
                    population: int = 1000) -> pl.DataFrame:
    """Number high risk and high risk with the event per `population` (rmda: risk > threshold)."""
    kw = {} if thresholds is None else {"thresholds": list(thresholds)}
    return call("clinical_impact", data=data, outcome=outcome, score=score, population=population, **kw)


def interaction_groups(data: pl.DataFrame, outcome: str, score_a: str, score_b: str, cut_a: float, cut_b: float,
                       covariates: Names | None = None, conf_level: float = 0.95,
                       separation: Separation = "firth") -> pl.DataFrame:
    """Four High/Low groups, High/High reference: B, SE, P, OR (profile CI); Table 4."""
    return call("interaction_groups", data=data, outcome=outcome, score_a=score_a, score_b=score_b,
                cut_a=cut_a, cut_b=cut_b, covariates=None if not covariates else list(covariates),
                conf_level=conf_level, separation=separation)


def table_one(data: pl.DataFrame, group: str, variables: Names, digits: int = 2,
              fisher: str = "any_below_5") -> pl.DataFrame:
    """Table 1: mean ± SD with t-test; n (%) with chi-squared or Fisher's exact test
    (``fisher="cochran"``: the reference study's rule)."""
    return call("table_one", data=data, group=group, variables=list(variables), digits=digits, fisher=fisher)

