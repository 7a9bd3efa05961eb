"""The evaluate stage: every clinical statistic of the report, computed by the R package.

Reads ``<out>/radscores.parquet`` (patient_id, outcome, radscore_*), joins the manifest's
covariates and writes ``<out>/stats/<table>.parquet`` (+ a CSV copy for R users):

=====================  ===================================================================
table1                 patient characteristics by outcome (incl. Radscores, interaction group)
table2                 ROC summaries: each Radscore and the comparator, unadjusted/adjusted
auc_comparison         paired DeLong tests between every two of those models, per adjustment
models                 logistic model coefficients (B, SE, P, OR with profile CI), estimation
                       ("ml" or "firth") and mle_exists per model
separation             covariate levels without events (or with only events) and what the
                       models did about them (evaluate.separation); no rows when none
predictions            per patient linear predictor and risk of every model
table3                 internal validation (LOOCV, k-fold, bootstrap, optimism)
pauc                   partial AUCs over sensitivity and specificity ranges
pauc_comparison        bootstrap comparison of two Radscores' partial AUCs
calibration            rms::calibrate curves;  hosmer_lemeshow: HL test per model
decision_curve         net benefit / interventions avoided;  clinical_impact: CIC
table4                 interaction groups (also the forest plot's data)
=====================  ===================================================================

Everything is computed before anything is written, so bad input leaves no partial output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import polars as pl
from rich.progress import Progress

from spinedlr import stats
from spinedlr.cli_support import console
from spinedlr.config import CovariateType, Study
from spinedlr.errors import InputError
from spinedlr.manifest import load_manifest
from spinedlr.outputs import read_output
from spinedlr.paths import RADSCORES, STATS
from spinedlr.provenance import provenance, write_table_folder
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec

SCORE_PREFIX = "radscore_"
GROUP_COLUMN = "interaction_group"


def load_data(study: Study) -> tuple[pl.DataFrame, list[str]]:
    """Radscores joined with the manifest covariates; the Radscore column names."""
    cfg = study.config
    path = study.paths.radscores
    if not path.exists():
        raise InputError(f"{path}: Radscores not found (run `spinedlr select` first)")
    rad = read_output(path, "spinedlr select run")
    for col in ("patient_id", "outcome"):
        if col not in rad.columns:
            raise InputError(f"{path}: missing column '{col}'")
    # The ROI Radscores and their combination are the study's models; the per-family columns
    # (radscore_<roi>_<family>) stay in radscores.parquet for users but are not re-evaluated.
    main = [f"{SCORE_PREFIX}{r.name}" for r in cfg.rois] + [f"{SCORE_PREFIX}combined"]
    scores = [c for c in main if c in rad.columns] or [c for c in rad.columns if c.startswith(SCORE_PREFIX)]
    if not scores:
        raise InputError(f"{path}: no Radscore columns (named {SCORE_PREFIX}*)")
    man = load_manifest(study).rename({cfg.patient_id: "patient_id"})
    covs = [c.name for c in cfg.covariates]
    rad = rad.with_columns(pl.col("patient_id").cast(pl.Utf8))
    unknown = rad.join(man, on="patient_id", how="anti")["patient_id"].to_list()
    if unknown:
        raise InputError(f"{path}: patient(s) not in the manifest: {', '.join(unknown[:10])}")
    data = rad.join(man.select(["patient_id", cfg.outcome, *covs]), on="patient_id", how="left")
    clash = data.filter(pl.col("outcome").cast(pl.Int64) != pl.col(cfg.outcome))["patient_id"].to_list()
    if clash:
        raise InputError(f"{path}: outcome differs from the manifest's '{cfg.outcome}' for: {', '.join(clash[:10])}")
    return data.drop(cfg.outcome).with_columns(pl.col("outcome").cast(pl.Int64)), scores


def encode(study: Study, data: pl.DataFrame, for_models: bool) -> pl.DataFrame:
    """Covariates typed for R: categories as ordered Enums (levels from the config); for
    models, ordinal covariates become their level rank (1, 2, ...), as the study treats them,
    and so does a binary comparator (it is scored like a Radscore, so it must be a number)."""
    exprs = []
    comparator = study.config.comparator
    for cov in study.config.covariates:
        col = pl.col(cov.name)
        levels = [str(x) for x in cov.levels] if cov.levels is not None else None
        as_rank = cov.type == CovariateType.ordinal or (cov.type == CovariateType.binary and cov.name == comparator)
        if cov.name == comparator and cov.type == CovariateType.nominal:
            raise InputError(f"comparator '{comparator}' is a nominal covariate; a comparator must be "
                             "continuous, ordinal or binary to be scored like a Radscore")
        if cov.type == CovariateType.continuous:
            exprs.append(col.cast(pl.Float64))
        elif as_rank and for_models:
            if levels is None:
                exprs.append(col.cast(pl.Float64))
            else:
                rank = {lv: i + 1 for i, lv in enumerate(levels)}
                exprs.append(col.cast(pl.Utf8).replace_strict(rank, return_dtype=pl.Int64).alias(cov.name))
        else:
            if levels is None:
                levels = sorted(data[cov.name].cast(pl.Utf8).drop_nulls().unique().to_list())
            exprs.append(col.cast(pl.Utf8).cast(pl.Enum(levels)))
    return data.with_columns(exprs)


def _model_label(score: str, model: str) -> str:
    return f"{score} ({model})"


def compute(study: Study, progress: Callable[[str], None] = lambda _: None) -> dict[str, pl.DataFrame]:
    """All evaluate tables, keyed by file name (nothing is written)."""
    cfg = study.config
    st = cfg.evaluate
    data, scores = load_data(study)
    covs = [c.name for c in cfg.covariates]
    md = encode(study, data, for_models=True)
    comparator = [cfg.comparator] if cfg.comparator else []
    all_scores = [*comparator, *scores]
    seed = stage_seed(study, "evaluate")
    out: dict[str, pl.DataFrame] = {}

    progress("logistic models")
    out["separation"] = _separation_note(md, covs, st.separation)
    sep = st.separation
    out["models"] = stats.fit_models(md, "outcome", all_scores, covs, conf_level=st.conf_level, separation=sep)
    pred = stats.predict_models(md, "outcome", all_scores, covs, id="patient_id", separation=sep)
    out["predictions"] = pred.rename({"id": "patient_id"}).drop("row")
    wide = _wide(out["predictions"], "linear_predictor")
    risk = _wide(out["predictions"], "risk")
    fits = [(s, m) for s, m in out["predictions"].select("score", "model").unique(maintain_order=True).iter_rows()]

    progress("ROC summaries (Table 2)")
    rows = []
    for s, m in fits:
        src, col = (md, s) if m == "unadjusted" else (wide, _model_label(s, m))
        r = stats.roc_summary(src, col, "outcome", conf_level=st.conf_level)
        rows.append(r.with_columns(pl.lit(s).alias("score"), pl.lit(m).alias("model")))
    out["table2"] = pl.concat(rows).select(["score", "model", *[c for c in rows[0].columns if c not in ("score", "model")]])

    out["auc_comparison"] = _delong(md, wide, fits, st.conf_level)

    progress("internal validation (Table 3)")
    out["table3"] = stats.validate_model(md, "outcome", scores, covs, loocv=st.loocv, k=st.folds,
                                         boot_n=st.boot_n, seed=seed, conf_level=st.conf_level, separation=sep)

    progress("partial AUC")
    out["pauc"], out["pauc_comparison"] = _pauc(md, wide, fits, st, stage_seed(study, "evaluate.pauc"))

    progress("calibration and Hosmer-Lemeshow")
    out["calibration"] = pl.concat([stats.calibration(md, "outcome", s, covs, B=st.calibration_b, seed=stage_seed(study, "evaluate.calibration"),
                                                      separation=sep) for s in scores])
    hl = []
    for s, m in fits:
        if s not in scores:
            continue  # a coarse comparator (3 grades) has too few distinct risks for risk deciles
        r = stats.hosmer_lemeshow(risk["outcome"], risk[_model_label(s, m)], g=st.hl_groups)
        hl.append(r.select(pl.lit(s).alias("score"), pl.lit(m).alias("model"), pl.all()))
    out["hosmer_lemeshow"] = pl.concat(hl)

    progress("decision and clinical impact curves")
    labels = {_model_label(s, m): (s, m) for s, m in fits}
    dca = stats.decision_curve(risk, "outcome", list(labels), thresholds=st.thresholds)
    out["decision_curve"] = dca.rename({"model": "curve"}).with_columns(
        pl.col("curve").replace_strict({k: v[0] for k, v in labels.items()}, default=None).alias("score"),
        pl.col("curve").replace_strict({k: v[1] for k, v in labels.items()}, default=None).alias("model"),
    )
    out["clinical_impact"] = pl.concat([
        stats.clinical_impact(risk, "outcome", lab, thresholds=st.thresholds, population=st.population)
        .with_columns(pl.lit(s).alias("score"), pl.lit(m).alias("model"))
        for lab, (s, m) in labels.items()
    ])

    progress("interaction groups (Table 4) and Table 1")
    display = encode(study, data, for_models=False)
    variables = [*covs, *scores]
    if st.interaction:
        a, b = st.interaction
        cut = {r["score"]: r["cutoff"] for r in out["table2"].filter(pl.col("model") == "unadjusted").iter_rows(named=True)}
        for x in (a, b):
            if x not in cut:
                raise InputError(f"evaluate.interaction names '{x}', which is not a Radscore column ({', '.join(scores)})")
        try:
            out["table4"] = stats.interaction_groups(md, "outcome", a, b, cut[a], cut[b], covs,
                                                     conf_level=st.conf_level, separation=sep) \
                .with_columns(pl.lit(a).alias("score_a"), pl.lit(b).alias("score_b"),
                              pl.lit(cut[a]).alias("cut_a"), pl.lit(cut[b]).alias("cut_b"))
        except stats.StatsError as err:
            # Small studies often leave a group with no events (or only events): Table 4 then
            # has no finite odds ratio. The rest of the analysis stands; the report says why.
            console.print(f"[yellow]Table 4 not estimable:[/] {err}")
            out["table4_note"] = pl.DataFrame({"score_a": [a], "score_b": [b], "reason": [str(err)]})
        order = ["High/High", "Low/High", "High/Low", "Low/Low"]
        group = pl.when(pl.col(a) >= cut[a]).then(pl.lit("High")).otherwise(pl.lit("Low")) + "/" + \
            pl.when(pl.col(b) >= cut[b]).then(pl.lit("High")).otherwise(pl.lit("Low"))
        display = display.with_columns(group.cast(pl.Enum(order)).alias(GROUP_COLUMN))
        variables.append(GROUP_COLUMN)
    out["table1"] = stats.table_one(display, "outcome", variables, fisher=st.fisher_rule)
    return out


SEPARATION_HANDLING = {
    "firth": "models with this covariate fitted by Firth's penalised likelihood, profile penalised "
             "likelihood CIs (evaluate.separation: firth)",
    "refuse": "refused (evaluate.separation: refuse)",
}


def _separation_note(md: pl.DataFrame, covs: list[str], separation: str) -> pl.DataFrame:
    """Levels without events (or with only events), found before any model is fitted: one line
    each on the console, and the note table the report states. With ``refuse``, stop here."""
    levels = stats.sparse_levels(md, "outcome", covs) if covs else pl.DataFrame()
    lines = [f"covariate '{r['covariate']}' level '{r['level']}': {r['n']} patient(s), "
             f"{'no events' if r['n_events'] == 0 else 'only events'}" for r in levels.iter_rows(named=True)]
    if lines and separation == "refuse":
        raise InputError("the maximum likelihood estimate of the adjusted models does not exist: "
                         + "; ".join(lines) + " (merge or drop the level, or set evaluate.separation: firth)")
    for line in lines:
        console.print(f"[yellow]No maximum likelihood estimate:[/] {line}; {SEPARATION_HANDLING['firth']}")
    schema = {"covariate": pl.Utf8, "level": pl.Utf8, "n": pl.Int64, "n_events": pl.Int64}
    note = levels if levels.height else pl.DataFrame(schema=schema)
    return note.with_columns(pl.lit(SEPARATION_HANDLING[separation]).alias("handling"))


def _wide(pred: pl.DataFrame, value: str) -> pl.DataFrame:
    """One column per model, named "<score> (<model>)", plus patient_id and outcome."""
    labelled = pred.with_columns(
        pl.format("{} ({})", pl.col("score"), pl.col("model")).alias("label")
    )
    return labelled.pivot(on="label", index=["patient_id", "outcome"], values=value, maintain_order=True)


def _delong(md: pl.DataFrame, wide: pl.DataFrame, fits, conf_level: float) -> pl.DataFrame:
    """Paired DeLong comparison of every two models with the same adjustment (same patients)."""
    rows = []
    for m in dict.fromkeys(m for _, m in fits):
        scores = [s for s, mm in fits if mm == m]
        for i, a in enumerate(scores):
            for b in scores[i + 1:]:
                src, ca, cb = (md, a, b) if m == "unadjusted" else (wide, _model_label(a, m), _model_label(b, m))
                r = stats.compare_auc(src, ca, cb, "outcome", conf_level=conf_level)
                rows.append(r.with_columns(pl.lit(a).alias("score1"), pl.lit(b).alias("score2"),
                                           pl.lit(m).alias("model")))
    return pl.concat(rows) if rows else pl.DataFrame()


def _pauc(md: pl.DataFrame, wide: pl.DataFrame, fits, st, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows, comparisons = [], []
    for focus in ("sensitivity", "specificity"):
        for s, m in fits:
            src, col = (md, s) if m == "unadjusted" else (wide, _model_label(s, m))
            r = stats.partial_auc(src, col, "outcome", range=st.pauc_range, focus=focus)
            rows.append(r.with_columns(pl.lit(s).alias("score"), pl.lit(m).alias("model")))
        if st.pauc_compare:
            a, b = st.pauc_compare
            for m in ("unadjusted", "adjusted"):
                src, ca, cb = (md, a, b) if m == "unadjusted" else (wide, _model_label(a, m), _model_label(b, m))
                if ca not in src.columns or cb not in src.columns:
                    continue
                r = stats.compare_partial_auc(src, ca, cb, "outcome", range=st.pauc_range, focus=focus,
                                              boot_n=st.pauc_boot_n, seed=seed, conf_level=st.conf_level)
                comparisons.append(r.with_columns(pl.lit(a).alias("score1"), pl.lit(b).alias("score2"),
                                                  pl.lit(m).alias("model")))
    comp = pl.concat(comparisons) if comparisons else pl.DataFrame()
    return pl.concat(rows), comp


def run(study: Study) -> dict[str, Path]:
    """Compute every table, then write ``stats/<name>.parquet`` + CSV and provenance."""
    steps = 7
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("evaluate", total=steps)

        def step(what: str) -> None:
            bar.update(task, advance=1, description=f"evaluate: {what}")

        tables = compute(study, progress=step)
    record = provenance(study.config, "evaluate", {"r": stats.r_versions(), "tables": sorted(tables)})
    return write_table_folder(study.output, STATS, tables, record)  # stats/ replaced as one set


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    tables = run(study)
    return StageResult(SPEC.name, tables, f"{len(tables)} table(s)")


SPEC = StageSpec(
    name="evaluate",
    settings=("evaluate",),
    upstream=(RADSCORES,),
    outputs=(STATS,),
    run=_run_stage,
    study_keys=(*CORE_KEYS, "covariates", "comparator"),
    description="the clinical statistics of the R package, through rpy2",
)
