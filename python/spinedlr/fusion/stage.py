"""The fusion stage: Zou et al. 2025's pipeline on a fixed train/validation/test split.

Active for a binary, one-row-per-patient design whose ``design.validation`` is ``fixed`` or
``by_column`` (spinedlr.design.support.fixed_split); it runs after extract, in place of the
select and evaluate stages. Steps: the cohorts (``fusion.cohorts``), the fused radiomics
and the 3D network's deep features (``fusion.features``), everything fitted on the training
cohort only (``fusion.model``), statistics per cohort and model vs readers
(``fusion.statistics``). Tables, each Parquet with a CSV copy, in ``fusion/``:

==================  =====================================================================
cohorts             patient_id, centre, cohort, outcome
cohort_summary      patients, events and event rate per cohort and centre
feature_counts      features per ROI and image: extracted, selected
selected            family, feature: the features (radiomics) or components (deep) kept
networks            one row per ROI's full 3D network: preset, size, epochs, best epoch,
                    time; fold_networks / fold_seconds: how many networks the out-of-fold
                    DL signature trained for the ROI, and their time
comparison          every classifier x family: out-of-fold AUC with DeLong CI on training
vote                the top-k vote that picked the signature classifier
clinical_selection  univariable then multivariable logistic regression of the clinical
                    candidates on the training cohort (absent when fusion.clinical_p_enter
                    is null)
predictions         per patient: cohort, outcome, clinical, rad_sign, dl_sign, combined
auc / calibration / calibration_curve / decision_curve   per cohort and model
readers / kappa     model vs readers on the test cohort; Cohen's kappa between readers
run                 key / value: seed, design, winner, threshold, 3D preset, seconds
==================  =====================================================================
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import polars as pl

from spinedlr.cli_support import console
from spinedlr.design import settings as ds
from spinedlr.design.support import fixed_split
from spinedlr.paths import CLASSIFY3D_MODELS, FUSION, RADIOMICS
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec

if TYPE_CHECKING:
    from spinedlr.config import Study
    from spinedlr.fusion.model import DeepFolds

MODELS = ("clinical", "rad_sign", "dl_sign", "combined")


def _aligned(table: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """The table's feature columns in ``ids`` order; InputError for a patient without them."""
    from spinedlr.errors import InputError

    out = pl.DataFrame({"patient_id": ids}).join(table, on="patient_id", how="left",
                                                  maintain_order="left")
    missing = out.filter(pl.any_horizontal(pl.exclude("patient_id").is_null()))["patient_id"]
    if missing.len():
        raise InputError(f"patients without features: {', '.join(missing.head(5))}")
    return out.drop("patient_id")


def _inputs(study: "Study", seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict, list, "DeepFolds | None"]:
    """(manifest, cohorts with centre, family -> features, 3D network records, the fold
    networks' features as spinedlr.fusion.model.DeepFolds or None without the deep family)."""
    from spinedlr.fusion.cohorts import assign_cohorts
    from spinedlr.fusion.features import deep_features, fused_radiomics
    from spinedlr.fusion.model import DeepFolds
    from spinedlr.manifest import load_manifest

    cfg, fs = study.config, study.config.fusion
    manifest = load_manifest(study).with_columns(pl.col(cfg.patient_id).cast(pl.String))
    ids = manifest[cfg.patient_id].to_list()
    v = cfg.design.validation
    column = manifest[v.column].to_list() if isinstance(v, ds.ByColumn) else None
    cohorts = assign_cohorts(ids, manifest[cfg.outcome].cast(pl.Int64).to_numpy(), v, seed, column)
    centre = manifest[fs.centre].cast(pl.String) if fs.centre in manifest.columns else None
    cohorts = cohorts.with_columns(centre=centre if centre is not None else pl.lit("all"))
    features = {"radiomics": _aligned(fused_radiomics(study, manifest, fs.rater), ids)}
    records: list = []
    folds = None
    if fs.deep:
        deep = deep_features(study, manifest, cohorts, fs.rater, seed,
                             study.paths.at(CLASSIFY3D_MODELS))
        features["deep"], records = _aligned(deep.table, ids), deep.records
        folds = DeepFolds(deep.fold, [_aligned(t, ids) for t in deep.fold_tables])
    return manifest, cohorts, features, records, folds


def _tables(study: "Study", seed: int) -> tuple[dict[str, pl.DataFrame], dict]:
    from spinedlr.fusion.clinical import clinical_terms
    from spinedlr.fusion.cohorts import cohort_table
    from spinedlr.fusion.features import feature_counts
    from spinedlr.fusion.model import fit_models
    from spinedlr.fusion.statistics import cohort_statistics, readers_table

    cfg, fs, t0 = study.config, study.config.fusion, time.perf_counter()
    manifest, cohorts, features, records, deep_folds = _inputs(study, seed)
    y, train = cohorts["outcome"].to_numpy(), (cohorts["cohort"] == "training").to_numpy()
    console.print(f"fusion: {int(train.sum())} training patients; {features['radiomics'].width} "
                  f"radiomics features" + (f", {features['deep'].width} deep" if fs.deep else ""))
    grids = {m.name: m.grid for m in cfg.design.models if m.grid}
    clinical = clinical_terms(study, manifest, cohorts)
    console.print("fusion: clinical factors of the combined model: "
                  + (", ".join(clinical.chosen) or "none selected"))
    fitted = fit_models(features, clinical.design, y, train, fs, [m.name for m in cfg.design.models],
                        grids, cfg.design.search_folds, seed, deep_folds)
    models = [m for m in MODELS if m in fitted.scores.columns]
    readers = [manifest[r].cast(pl.Int64).alias(r) for r in fs.readers]
    predictions = pl.concat([cohorts.select("patient_id", "centre", "cohort", "outcome"),
                             fitted.scores.select(models), pl.DataFrame(readers)],
                            how="horizontal")
    st = cfg.evaluate
    tables = cohort_statistics(predictions, models, st.conf_level, st.hl_groups, st.thresholds)
    auc = tables["auc"]
    threshold = auc.filter((pl.col("cohort") == "training") & (pl.col("score") == "combined"))["cutoff"][0]
    tables["readers"], tables["kappa"] = readers_table(
        predictions.filter(pl.col("cohort") == "test"), "combined", float(threshold),
        list(fs.readers), st.conf_level)
    run = {"seed": seed, "design": cfg.design.validation.scheme, "winner": fitted.comparison.winner,
           "threshold": float(threshold), "combined_terms": ", ".join(fitted.combined_terms),
           "clinical_p_enter": "none" if fs.clinical_p_enter is None else fs.clinical_p_enter,
           "clinical_selected": ", ".join(clinical.chosen) or "none",
           "preset": fs.classify3d.preset if fs.deep else "none",
           "network": fs.classify3d.network if fs.deep else "none",
           "deep_signature_folds": fs.deep_signature_folds if fs.deep else "none",
           "fold_network_seconds": round(sum(r["fold_seconds"] for r in records), 1),
           "seconds": round(time.perf_counter() - t0, 1)}
    tables |= {
        "cohorts": cohorts.select("patient_id", "centre", "cohort", "outcome"),
        "cohort_summary": cohort_table(cohorts, cohorts["centre"].to_list()),
        "feature_counts": feature_counts(features["radiomics"].columns, fitted.selected["radiomics"]),
        "selected": pl.DataFrame([{"family": f, "feature": n} for f, names in fitted.selected.items()
                                  for n in names], schema={"family": pl.String, "feature": pl.String}),
        "networks": pl.DataFrame(records),
        "comparison": fitted.comparison.summary.drop("params"),
        "vote": fitted.comparison.vote,
        "predictions": predictions,
        "run": pl.DataFrame({"key": list(run), "value": [str(v) for v in run.values()]}),
    }
    if clinical.selection is not None:
        tables["clinical_selection"] = clinical.selection
    return tables, run


def _run_stage(study: "Study", ctx: StageContext) -> StageResult:
    from spinedlr import stats
    from spinedlr.provenance import provenance, write_table_folder

    seed = stage_seed(study, "fusion")
    tables, run = _tables(study, seed)
    auc = tables["auc"].filter(pl.col("cohort") == "test", pl.col("score") == "combined")
    console.print(f"fusion: {run['winner']} signatures; combined model test AUC "
                  f"{auc['auc'][0]:.3f} ({auc['auc_lower'][0]:.3f}-{auc['auc_upper'][0]:.3f}) "
                  f"in {run['seconds']:.0f} s")
    record = provenance(study.config, "fusion", {"r": stats.r_versions(), "tables": sorted(tables)}
                        | {k: v for k, v in run.items()})
    paths = write_table_folder(study.output, FUSION, tables, record)
    return StageResult(SPEC.name, paths, f"{len(tables)} table(s); winner {run['winner']}", run)


def _enabled(study: "Study") -> bool:
    return fixed_split(study.config.design)


SPEC = StageSpec(
    name="fusion",
    settings=("fusion", "design", "extract", "evaluate.conf_level", "evaluate.hl_groups",
              "evaluate.thresholds", "evaluate.separation"),
    upstream=(RADIOMICS,),
    outputs=(FUSION,),
    optional_outputs=(CLASSIFY3D_MODELS,),
    run=_run_stage,
    reads_images=True,  # further images and the 3D network read them
    study_keys=(*CORE_KEYS, "covariates"),
    enabled=_enabled,
    fixed_split=True,
    description="multi-modal early fusion on a fixed split: selection, 3D network, "
                "classifier comparison, signatures, combined model, model vs readers",
)
