"""The compare stage: classifiers x feature sets, clinical factors and the nomogram (Fan et al.).

Enabled when ``design.models`` lists a classifier besides the Radscore (a binary outcome,
one row per patient). It runs after the external stage, because it scores the external
cohort's features that stage extracted with the frozen settings and networks; nothing is
refitted on the external cohort. Writes ``compare/<table>.parquet`` (+ CSV):

=========================  ===================================================================
classifiers                feature_set, model, cohort (cv / external), n, n_events, auc with
                           DeLong CI, params (``spinedlr.compare.grid.compare_classifiers``)
predictions                the comparison's out-of-fold and external probabilities, patient_id
vote                       the top-3 vote over the feature sets (ranked by the CV AUC)
delong                     paired DeLong P between the winner's models of the feature sets,
                           per cohort
clinical_selection         Table 3: univariable then multivariable logistic regression
nomogram_terms             the nomogram's predictors (the Radscore and the selected factors)
nomogram_points            ``rms::nomogram``'s points per axis tick, the risk axis last
nomogram_data              the training rows it was fitted on (patient_id, outcome, predictors)
nomogram_scores            every patient's Radscore, total points and nomogram risk, by cohort
nomogram_auc               AUC with DeLong CI of the Radscore, clinical model and nomogram
models_delong              paired DeLong P between those models, per cohort
models_calibration         per cohort and model (radscore, clinical, nomogram): n, n_events, O/E,
                           calibration in the large and slope with Wald CIs and P
                           (``external_calibration``), Hosmer-Lemeshow ``hl_statistic``, ``hl_df``,
                           ``hl_p_value``, ``hl_groups`` over ``evaluate.hl_groups``, ``note``
models_calibration_curve   per cohort, model and risk group: mean predicted risk, observed rate,
                           exact CI (the Hosmer-Lemeshow groups)
models_decision_curve      per cohort: net benefit of each model, treat-all and treat-none at
                           ``evaluate.thresholds`` (``decision_curve``)
centres                    Table 1 of the two centres (covariates, Radscore, outcome)
=========================  ===================================================================

The feature sets and why selection is not repeated inside the folds: spinedlr.compare.features.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spinedlr import stats
from spinedlr.apply_model import load_frozen
from spinedlr.compare.dlrn import (
    RADSCORE,
    Cohorts,
    centres_table,
    clinical_rows,
    nomogram_tables,
    present_levels,
)
from spinedlr.compare.features import external_cohort, feature_sets, roi_wides, training_cohort
from spinedlr.compare.grid import compare_classifiers
from spinedlr.config import Study
from spinedlr.design.support import per_unit_multiclass
from spinedlr.external.stage import COHORT, external_manifest, is_external
from spinedlr.manifest import load_manifest
from spinedlr.paths import (
    COMPARE,
    DEEP,
    EXTERNAL,
    EXTERNAL_COHORT,
    RADIOMICS,
    RADSCORES,
    SELECTION,
    StudyPaths,
)
from spinedlr.provenance import provenance, write_table_folder
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec


def lists_classifiers(study: Study) -> bool:
    """The stage runs when the design names a classifier other than the Radscore."""
    return (not per_unit_multiclass(study.config.design)
            and any(m.name != "radscore" for m in study.config.design.models))


def _scores(study: Study, paths: StudyPaths, ids: list[str]) -> pl.DataFrame:
    """patient_id and the frozen model's linear predictor (``RADSCORE``), in ``ids`` order."""
    model = load_frozen(study)
    scores = model.scores(roi_wides(paths, list(model.formulas), model.rater))
    return (pl.DataFrame({"patient_id": ids})
            .join(scores.rename({"score": RADSCORE}), on="patient_id", how="left", maintain_order="left"))


def dlrn_cohorts(study: Study, train_ids: list[str], y_train, ext_ids: list[str] | None,
                 y_ext) -> Cohorts:
    """Both centres' rows for the clinical selection, the nomogram and Table 1."""
    train = _scores(study, study.paths, train_ids).with_columns(pl.Series("outcome", y_train))
    train = clinical_rows(study, load_manifest(study), train)
    ext = None
    if ext_ids is not None:
        cohort = study.override(None, "design.validation.manifest",
                                manifest=study.config.design.validation.manifest)
        ext = _scores(study, StudyPaths(study.paths.apply_cohort(COHORT)), ext_ids)
        ext = clinical_rows(study, load_manifest(cohort), ext.with_columns(pl.Series("outcome", y_ext)))
    return present_levels(train, ext)


def compute(study: Study, show_progress: bool = True) -> dict[str, pl.DataFrame]:
    """Every table of the stage (nothing is written)."""
    design = study.config.design
    sets = feature_sets(study)
    train, train_ids = training_cohort(study, sets)
    ext, ext_ids = (external_cohort(study, sets, study.paths.external / "predictions.parquet",
                                    study.paths.apply_cohort(COHORT))
                    if is_external(study) else (None, None))
    grids = {m.name: m.grid for m in design.models if m.grid}
    comp = compare_classifiers(
        train, sets.columns(), external=ext, models=[m.name for m in design.models],
        grids=grids or None, folds=study.config.select.classifier_folds,
        inner_folds=design.search_folds, seed=stage_seed(study, "compare"), progress=show_progress,
        n_jobs=max(1, study.config.runtime.workers))
    ids = {"cv": train_ids, "external": ext_ids or []}
    rows = pl.concat([pl.DataFrame({"cohort": c, "row": range(len(v)), "patient_id": v},
                                   schema={"cohort": pl.String, "row": pl.Int64, "patient_id": pl.String})
                      for c, v in ids.items()])
    predictions = comp.predictions.join(rows, on=["cohort", "row"], how="left", maintain_order="left")
    cohorts = dlrn_cohorts(study, train_ids, train.outcome, ext_ids,
                           None if ext is None else ext.outcome)
    tables = {"classifiers": comp.summary, "predictions": predictions, "vote": comp.vote,
              "delong": comp.delong, **nomogram_tables(study, cohorts)}
    if cohorts.external is not None:
        tables["centres"] = centres_table(study, cohorts)
    return tables


def run(study: Study, show_progress: bool = True) -> dict[str, Path]:
    tables = compute(study, show_progress)
    record = provenance(study.config, "compare", {
        "models": [m.name for m in study.config.design.models], "seed": stage_seed(study, "compare"),
        "r": stats.r_versions(), "tables": sorted(tables), "refitted on the external cohort": "nothing"})
    return write_table_folder(study.output, COMPARE, tables, record)


def _manifests(study: Study) -> tuple[Path, ...]:
    """The external manifest (its clinical columns enter the nomogram and Table 1); its images
    reach the stage only through the external stage's extraction, an upstream output."""
    return (external_manifest(study),) if is_external(study) else ()


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    tables = run(study, ctx.show_progress)
    return StageResult(SPEC.name, tables, f"{len(tables)} comparison table(s)")


SPEC = StageSpec(
    name="compare",
    settings=("evaluate", "select.classifier_folds"),
    upstream=(RADIOMICS, DEEP, SELECTION, RADSCORES, EXTERNAL, EXTERNAL_COHORT),
    outputs=(COMPARE,),
    run=_run_stage,
    study_keys=(*CORE_KEYS, "design", "covariates"),
    enabled=lists_classifiers,
    extra_inputs=_manifests,
    description="classifiers x feature sets (CV and external AUC, vote, DeLong), clinical "
                "factors and the nomogram",
)
