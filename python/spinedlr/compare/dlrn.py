"""Clinical factors and the deep-learning radiomics nomogram (Fan et al. 2024, Table 3, Fig. 6).

Steps, each through the R package so a statistician gets the same numbers in R:

1. ``clinical_selection``: every covariate of the study alone (univariable logistic
   regression), then those with P < ``P_ENTER`` together (multivariable); a factor is
   *selected* when its multivariable variable-level P is below ``P_ENTER`` too.
2. ``nomogram`` (``rms::lrm`` + ``rms::nomogram``) of the outcome on the study's Radscore (the
   frozen model's linear predictor, ``RADSCORE``) and the selected factors, fitted on the
   training centre; its points table and the rows it was fitted on (``nomogram_data``, so a
   statistician can call ``spinedlr::nomogram`` on them in R) are exported. A clinical model
   (the selected factors alone) is fitted the same way when any factor is selected.
3. Both fits are frozen and scored (``nomogram_score``) in the training centre (apparent) and
   in the external centre; AUCs with DeLong CIs, and the paired DeLong P between the
   Radscore, the clinical model and the nomogram in each cohort.
4. The same three models' calibration (in the large, slope, Hosmer-Lemeshow, curve) and
   decision curves in each cohort (``spinedlr.compare.calibration``).

Categories are coded with the config's levels, keeping only those present in the training
centre (an empty level has no estimate); an external patient with a level the training centre
never saw cannot be scored and is named in an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import expit

from spinedlr import stats
from spinedlr.compare.calibration import model_calibration
from spinedlr.compare.delong import delong_matrix
from spinedlr.config import Study
from spinedlr.errors import InputError
from spinedlr.evaluate.stage import encode
from spinedlr.stats.bridge import call, call_object, from_r
from spinedlr.stats.clinical import clinical_selection

P_ENTER = 0.05
"""Fan et al.'s threshold, univariable and multivariable."""
RADSCORE = "radscore"
"""The nomogram's name for the study's Radscore (the frozen model's linear predictor)."""
MODELS = ("radscore", "clinical", "nomogram")


@dataclass(frozen=True)
class Cohorts:
    """Both centres' rows: patient_id, outcome (0/1), ``RADSCORE`` and the covariates."""

    training: pl.DataFrame
    external: pl.DataFrame | None

    def present(self) -> dict[str, pl.DataFrame]:
        """The cohorts there are, by name ("training", then "external" if any)."""
        return {"training": self.training,
                **({} if self.external is None else {"external": self.external})}


def clinical_rows(study: Study, manifest: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """patient_id, outcome, radscore and the covariates typed for R, in ``scores``' order."""
    pid = study.config.patient_id
    names = [c.name for c in study.config.covariates]
    rows = scores.join(manifest.select(pl.col(pid).cast(pl.String).alias("patient_id"), *names),
                       on="patient_id", how="left", maintain_order="left")
    lacking = rows.filter(pl.any_horizontal(pl.col(names).is_null()))["patient_id"].to_list()
    if lacking:
        raise InputError(f"patient(s) {', '.join(lacking[:10])}: a covariate is missing; the "
                         "clinical selection needs every covariate of every patient")
    return encode(study, rows, for_models=False)


def present_levels(train: pl.DataFrame, other: pl.DataFrame | None) -> Cohorts:
    """Keep only the category levels the training rows have, in the config's order; an
    external row with another level is an error that names it."""
    fixes = {}
    for name, dtype in train.schema.items():
        if isinstance(dtype, pl.Enum):
            seen = set(train[name].cast(pl.String))
            fixes[name] = pl.Enum([lv for lv in dtype.categories if lv in seen])
    if other is not None:
        for name, enum in fixes.items():
            bad = other.filter(~pl.col(name).cast(pl.String).is_in(list(enum.categories)))
            if bad.height:
                raise InputError(f"external patient {bad['patient_id'][0]}: {name} = "
                                 f"{bad[name][0]!r} never occurs in the training centre, so the "
                                 "nomogram cannot score it")
        other = other.with_columns(pl.col(n).cast(pl.String).cast(e) for n, e in fixes.items())
    return Cohorts(train.with_columns(pl.col(n).cast(pl.String).cast(e) for n, e in fixes.items()),
                   other)


def selected_factors(table: pl.DataFrame, p_enter: float = P_ENTER) -> list[str]:
    """The covariates whose multivariable variable-level P is below ``p_enter``."""
    multi = table.filter((pl.col("analysis") == "multivariable") & (pl.col("p_variable") < p_enter))
    return multi["variable"].unique(maintain_order=True).to_list()


def _fit_and_score(cohorts: Cohorts, predictors: list[str]) -> tuple[object, dict[str, pl.DataFrame]]:
    """The nomogram of ``predictors`` on the training rows, and its score in each cohort."""
    data = cohorts.training.select("outcome", *predictors)
    fit = call_object("nomogram", data=data, outcome="outcome", predictors=predictors)
    scored = {"training": call("nomogram_score", object=fit, newdata=data)}
    if cohorts.external is not None:
        scored["external"] = call("nomogram_score", object=fit,
                                  newdata=cohorts.external.select(predictors))
    return fit, scored


def _performance(cohorts: Cohorts, risks: dict[str, dict[str, np.ndarray]],
                 conf_level: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """AUC rows per (model, cohort) and the DeLong matrix of the models in each cohort."""
    auc, delong = [], []
    for cohort, frame in cohorts.present().items():
        data = pl.DataFrame({"outcome": frame["outcome"].cast(pl.Int64), **risks[cohort]})
        for model in risks[cohort]:
            r = stats.roc_summary(data.select("outcome", model), model, "outcome", conf_level)
            auc.append(r.select(pl.lit(model).alias("model"), pl.lit(cohort).alias("cohort"),
                                "n", "n_events", "auc", "auc_lower", "auc_upper"))
        if len(risks[cohort]) > 1:
            delong.append(delong_matrix(data, list(risks[cohort]), "outcome")
                          .select(pl.lit(cohort).alias("cohort"), pl.all()))
    return pl.concat(auc), (pl.concat(delong, how="diagonal") if delong else
                            pl.DataFrame(schema={"cohort": pl.Utf8, "model": pl.Utf8}))


def nomogram_tables(study: Study, cohorts: Cohorts) -> dict[str, pl.DataFrame]:
    """Table 3, the nomogram's points, every patient's points and risk, AUCs and DeLong, and
    the models' calibration and decision curves."""
    st = study.config.evaluate
    candidates = [c.name for c in study.config.covariates]
    table3 = clinical_selection(cohorts.training, "outcome", candidates, P_ENTER, st.conf_level,
                                st.separation)
    chosen = selected_factors(table3)
    fit, scored = _fit_and_score(cohorts, [RADSCORE, *chosen])
    points = from_r(fit)
    risks = {c: {"radscore": frame[RADSCORE].to_numpy(), "nomogram": scored[c]["risk"].to_numpy()}
             for c, frame in cohorts.present().items()}
    if chosen:
        _, clinical = _fit_and_score(cohorts, chosen)
        for c in risks:
            risks[c]["clinical"] = clinical[c]["risk"].to_numpy()
    scores = pl.concat([
        frame.select("patient_id", pl.lit(c).alias("cohort"), "outcome", RADSCORE)
        .with_columns(scored[c]["total_points"].alias("total_points"), scored[c]["risk"].alias("risk"))
        for c, frame in cohorts.present().items()])
    auc, delong = _performance(cohorts, risks, st.conf_level)
    outcomes = {c: frame["outcome"].cast(pl.Int64).to_numpy() for c, frame in cohorts.present().items()}
    probabilities = {c: {m: expit(r) if m == "radscore" else r for m, r in by_model.items()}
                     for c, by_model in risks.items()}  # the Radscore is a linear predictor
    calibration = model_calibration(outcomes, probabilities, st.conf_level, st.hl_groups, st.thresholds)
    return {"clinical_selection": table3, "nomogram_points": points, "nomogram_scores": scores,
            "nomogram_auc": auc, "models_delong": delong, **calibration,
            "nomogram_terms": pl.DataFrame({"predictor": [RADSCORE, *chosen]}),
            "nomogram_data": cohorts.training.select("patient_id", "outcome", RADSCORE, *chosen)}


def centres_table(study: Study, cohorts: Cohorts) -> pl.DataFrame:
    """Table 1 of the two centres: every covariate, the Radscore and the outcome by centre."""
    cols = [c.name for c in study.config.covariates]
    both = pl.concat([frame.select(pl.lit(name).alias("centre"), pl.col("outcome").cast(pl.String),
                                   RADSCORE, *(pl.col(c).cast(pl.String) if
                                               isinstance(frame.schema[c], pl.Enum) else pl.col(c)
                                               for c in cols))
                      for name, frame in (("training", cohorts.training), ("external", cohorts.external))])
    typed = encode(study, both.with_columns(pl.col("centre").cast(pl.Enum(["training", "external"]))),
                   for_models=False).with_columns(pl.col("outcome").cast(pl.Enum(["0", "1"])))
    return stats.table_one(typed, "centre", [*cols, RADSCORE, "outcome"],
                           fisher=study.config.evaluate.fisher_rule)
