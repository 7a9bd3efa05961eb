"""`spinedlr select run`: ICC, the selection chain and the Radscores of every ROI and family.

Reads ``features/radiomics.parquet`` (and ``features/deep.parquet`` when present), models
the ``model_rater``'s features and compares them with the ``icc_rater``'s for the ICC.

Writes under ``study.output``:

* ``selection/icc.parquet`` — roi, family, feature, icc, ci_low, ci_high, f, df1, df2, pval,
  n, form, kept, note;
* ``selection/steps.parquet`` — the funnel: roi, family, step, n_in, n_out;
* ``selection/radscore_<roi>_<family>.json`` / ``.csv`` — formulas; family is
  ``radiomics``, ``deep`` or ``fused`` (both families: union of their final features,
  or z-score concatenation with ``fusion: concat``); ``radscore_combined.json`` is the
  logistic model of the ROI Radscores;
* ``radscores.parquet`` — patient_id, outcome, ``radscore_<roi>`` for each ROI (the fused
  Radscore when deep features exist, else radiomics), ``radscore_combined`` (log-odds of the
  logistic model of all ROI Radscores; only patients with every ROI), and
  ``radscore_<roi>_<family>`` for each family;
* ``selection/details.json`` — per ROI and family: mRMR k and its RF CV AUC curve, LASSO
  λ_min / λ_1se / λ used, SVM-RFE size, steps that made a logged adjustment;
* ``selection/validation.parquet`` — the report's validated AUCs: repeated stratified k-fold
  CV with the whole chain refitted in every training fold, for each ROI Radscore, the
  combined Radscore and the adjusted models (and the comparator), with CIs; plus, per ROI,
  the same folds with selection done once on all patients (the leakage gap). See
  ``validation.full_pipeline_cv``;
* ``selection/model.json`` — the study's model as `spinedlr apply` reads it (which formula,
  class coding, rater, extraction fingerprint; see ``spinedlr.apply_model``), and
  ``selection/predictions.parquet`` — patient_id, ``prob_<class>``, predicted: the model's
  predictions for the training patients;
* ``selection/classifiers.parquet`` when ``compare_classifiers`` is on;
* ``selection/provenance.json``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import Progress, track

from spinedlr.apply_model import (
    formula_inputs,
    from_record,
    model_record,
)
from spinedlr.cli_support import console  # stderr; silent under -q
from spinedlr.config import Study
from spinedlr.errors import InputError
from spinedlr.evaluate.stage import encode
from spinedlr.manifest import load_manifest
from spinedlr.outputs import staged, write_atomic, write_text_atomic
from spinedlr.paths import DEEP, RADIOMICS, RADSCORES, SELECTION, StudyPaths
from spinedlr.provenance import provenance, write_provenance
from spinedlr.seeds import stage_seed
from spinedlr.stage_contract import CORE_KEYS, StageContext, StageResult, StageSpec
from spinedlr.select.classifiers import compare_classifiers
from spinedlr.select.folds import TooFewEventsError, check_events
from spinedlr.select.icc import icc_table
from spinedlr.select.pipeline import details, funnel, roi_pipeline, selected_features
from spinedlr.select.radscore import (
    RadscoreLogit,
    apply_formula,
    formula_dict,
    pca_block,
    write_formula,
)
from spinedlr.select.tables import check_finite, read_long, to_wide
from spinedlr.select.validation import RoiInput, full_pipeline_cv

log = logging.getLogger(__name__)


def _pca_of(chain, names: list[str]) -> dict | None:
    if "pca" not in chain.named_steps:
        return None
    i = [n for n, _ in chain.steps].index("pca")
    pca = chain.named_steps["pca"]
    inputs = [str(x) for x in chain[:i].get_feature_names_out(np.asarray(names, dtype=object))]
    outputs = [str(x) for x in pca.get_feature_names_out()]
    return pca_block(pca, inputs, outputs)


def _fold_zscore(formula: dict, pipe, names: list[str]) -> None:
    """Write the chain's z-scoring (``fusion: concat``) into the formula's means and SDs.

    Why: the Radscore is fitted on z-scored features, so its own means and SDs are those of
    z-scores (about 0 and 1); applied to raw feature values, as ``apply_formula`` and every
    reader of the formula do, they would give another score. (x - mu)/s then (z - m)/sd is
    (x - (mu + m s)) / (s sd), so the formula stays one affine map of the raw features.
    """
    i = [n for n, _ in pipe.steps].index("zscore")
    scaler = pipe.steps[i][1]
    inputs = [str(x) for x in pipe[:i].get_feature_names_out(np.asarray(names, dtype=object))]
    for term in formula["features"]:
        j = inputs.index(term["feature"])
        mu, s = float(scaler.mean_[j]), float(scaler.scale_[j])
        term["mean"], term["sd"] = mu + term["mean"] * s, s * term["sd"]
    formula["zscore"] = "folded into mean and sd (fusion: concat)"


@dataclass(frozen=True)
class RoiFit:
    """What the full-pipeline validation needs from one ROI's fit."""

    data: RoiInput
    selected: np.ndarray  # the features the chain kept on all patients (the leaky comparison)
    ids: list[str]


def covariate_design(study: Study, ids: list[str]) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The adjusted models' covariate columns, coded as the R package codes them.

    Continuous as is, ordinal (and a binary comparator) as level rank, other categories as
    treatment dummies of the levels present, first level the reference (R's ``droplevels``).
    Returns the design (rows in ``ids`` order, no intercept) and covariate → its columns.
    """
    cfg = study.config
    man = load_manifest(study).with_columns(pl.col(cfg.patient_id).cast(pl.String).alias("patient_id"))
    covs = [c.name for c in cfg.covariates]
    data = pl.DataFrame({"patient_id": ids}).join(man.select("patient_id", *covs), on="patient_id",
                                                  how="left", maintain_order="left")
    md = encode(study, data, for_models=True)
    cols: dict[str, pl.Series] = {}
    terms: dict[str, list[str]] = {}
    for cov in covs:
        col = md[cov]
        if isinstance(col.dtype, pl.Enum):
            present = set(col.drop_nulls().cast(pl.String).to_list())
            levels = [lv for lv in col.dtype.categories.to_list() if lv in present]
            names = [f"{cov}={lv}" for lv in levels[1:]]
            for lv, name in zip(levels[1:], names):
                cols[name] = (col.cast(pl.String) == lv).cast(pl.Float64)
        else:
            names = [cov]
            cols[cov] = col.cast(pl.Float64)
        terms[cov] = names
    return pl.DataFrame(cols), terms


def _validate(study: Study, fits: dict[str, RoiFit], outcome: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Full-pipeline repeated k-fold CV of every model the report shows (patients with every ROI)."""
    s, cfg = study.config.select, study.config
    common = set.intersection(*(set(f.ids) for f in fits.values()))
    ids = [i for i in next(iter(fits.values())).ids if i in common]
    rois = {}
    leaky = {}
    for roi, f in fits.items():
        rows = np.array([f.ids.index(i) for i in ids]) if f.ids != ids else np.arange(len(ids))
        rois[roi] = RoiInput(f.data.X[rows], f.data.families, f.data.icc)
        leaky[f"radscore_{roi}"] = f.selected[rows]
    by_id = dict(zip(outcome["patient_id"].to_list(), outcome["outcome"].to_list()))
    y = np.array([by_id[i] for i in ids])
    adjust, comparator = {}, None
    if cfg.covariates:
        design, terms = covariate_design(study, ids)
        if design.null_count().sum_horizontal().item():
            console.print("[yellow]full-pipeline validation: covariates have missing values; "
                          "adjusted models are validated only in the evaluate stage[/]")
        else:
            def block(skip: str | None) -> tuple[np.ndarray, list[list[int]]]:
                used = {cov: ns for cov, ns in terms.items() if cov != skip}
                names = [n for ns in used.values() for n in ns]
                groups = [[names.index(n) for n in ns] for cov, ns in used.items()
                          if ns != [cov]]
                return design.select(names).to_numpy(), groups
            scores = [f"radscore_{r}" for r in fits] + (["radscore_combined"] if len(fits) > 1 else [])
            adjust = {sc: block(None) for sc in scores}
            if cfg.comparator and cfg.comparator in terms and terms[cfg.comparator] == [cfg.comparator]:
                comparator = (cfg.comparator, design[cfg.comparator].to_numpy())
                if len(terms) > 1:
                    adjust[cfg.comparator] = block(cfg.comparator)
    workers = study.config.runtime.validation_workers or os.cpu_count() or 1
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("full-pipeline validation", total=s.validation_repeats * s.validation_folds)
        try:
            res = full_pipeline_cv(s, seed, rois, y, adjust, comparator, repeats=s.validation_repeats,
                                   folds=s.validation_folds, workers=workers,
                                   conf_level=cfg.evaluate.conf_level, leaky=leaky,
                                   progress=lambda done, _: bar.update(task, completed=done))
        except TooFewEventsError as err:
            raise InputError(
                f"{s.validation_folds}-fold full-pipeline validation refits the selection inside "
                f"each training fold, where {err} (or set select.validation_folds: 0)") from None
    return res.with_columns(pl.lit(len(ids)).alias("n"), pl.lit(int(y.sum())).alias("events"))


def _roi_data(study: Study, longs: dict, roi: str, outcome: pl.DataFrame, icc_rows: list):
    """Wide modelling table (patient_id, outcome, features…), family columns and ICCs."""
    s = study.config.select
    data = outcome
    fam_names: dict[str, list[str]] = {}
    icc: dict[str, np.ndarray | None] = {}
    for fam, (long, path) in longs.items():
        w1 = to_wide(long, roi, s.model_rater, path)
        if w1.width <= 1:
            if fam == "radiomics":
                raise InputError(f"{path}: no {fam} features for ROI {roi}, rater {s.model_rater}")
            continue
        w1 = check_finite(w1, path, roi, s.model_rater, s.nonfinite)
        names = w1.columns[1:]
        clash = set(names) & set(data.columns)
        if clash:
            raise InputError(f"{path}: feature name(s) used by two families: {sorted(clash)[:5]}")
        icc[fam] = None
        if s.icc_rater and s.icc_threshold is not None:
            w2 = to_wide(long, roi, s.icc_rater, path)
            if w2.width <= 1:
                log.warning("ROI %s, %s: no %s features; ICC step skipped", roi, fam, s.icc_rater)
            else:
                w2 = w2.select("patient_id", *[n for n in names if n in w2.columns])
                w2 = check_finite(w2, path, roi, s.icc_rater, s.nonfinite)
                if s.nonfinite == "drop_feature":  # dropped for one rater → for both
                    names = [n for n in names if n in w2.columns]
                    w1 = w1.select("patient_id", *names)
                if w2.width - 1 != len(names):
                    raise InputError(f"{path}: ROI {roi}: {s.icc_rater} lacks "
                                     f"{len(names) - w2.width + 1} of {s.model_rater}'s features")
                tab = icc_table(w1, w2, names, form=s.icc_form, threshold=s.icc_threshold)
                icc_rows.append(tab.select(pl.lit(roi).alias("roi"), pl.lit(fam).alias("family"),
                                           pl.all()))
                icc[fam] = tab["icc"].fill_null(np.nan).to_numpy()
                if not np.any(icc[fam] > s.icc_threshold):
                    msg = (f"ROI {roi}: no {fam} feature has ICC > {s.icc_threshold} between "
                           f"{s.model_rater} and {s.icc_rater}")
                    if fam == "radiomics":
                        raise InputError(f"{msg}; check that both raters' masks outline the same tissue")
                    # A family no rater agreement supports is left out, loudly, not fatal:
                    # e.g. deep features of a network too briefly trained to be reproducible.
                    console.print(f"[yellow]{msg}: the {fam} family is left out of this ROI's Radscore[/]")
                    del icc[fam]
                    continue
        missing = outcome.join(w1, on="patient_id", how="anti")["patient_id"].to_list()
        if missing:
            console.print(f"[yellow]ROI {roi}, {fam}:[/] no features for {len(missing)} "
                          f"patient(s), left out: {', '.join(missing[:20])}")
        data = data.join(w1, on="patient_id", how="inner")
        fam_names[fam] = names
    return data, fam_names, icc


def _fit_roi(study: Study, roi: str, data: pl.DataFrame, fam_names: dict, icc: dict, seed: int):
    s = study.config.select
    names = [n for f in fam_names.values() for n in f]
    X = data.select(names).to_numpy().astype(float)
    y = data["outcome"].to_numpy()
    folds = max([s.mrmr_folds * s.mrmr, s.lasso_folds * s.lasso, s.svm_rfe_folds * s.svm_rfe,
                 s.classifier_folds * s.compare_classifiers, 2])
    try:
        check_events(y, folds, f"selection for ROI {roi}")
    except TooFewEventsError as err:
        raise InputError(str(err)) from None
    cols, start = {}, 0
    for fam, f in fam_names.items():
        cols[fam] = list(range(start, start + len(f)))
        start += len(f)
    pipe = roi_pipeline(s, seed, cols, icc).fit(X, y)
    label = "fused" if len(cols) > 1 else next(iter(cols))
    formulas = {}
    meta = {"roi": roi, "n": int(len(y)), "events": int(y.sum())}
    pca = None if "select" in pipe.named_steps else _pca_of(pipe[:-1], names)
    formulas[label] = formula_dict(pipe.named_steps["radscore"], selected_features(pipe, names),
                                   family=label, pca=pca, **meta)
    if "zscore" in pipe.named_steps:
        _fold_zscore(formulas[label], pipe, names)
    if "select" in pipe.named_steps:
        ct = pipe.named_steps["select"]
        pcas = [_pca_of(ct.named_transformers_[f], fam_names[f]) for f in cols]
        formulas[label]["pca"] = next((p for p in pcas if p), None)
        for fam, c in cols.items():
            chain = ct.named_transformers_[fam]
            fam_in = np.asarray(fam_names[fam], dtype=object)
            feats = [str(x) for x in chain.get_feature_names_out(fam_in)]
            m = RadscoreLogit().fit(chain.transform(X[:, c]), y)
            formulas[fam] = formula_dict(m, feats, family=fam,
                                         pca=_pca_of(chain, fam_names[fam]), **meta)
    classifiers = None
    if s.compare_classifiers:
        classifiers = compare_classifiers(pipe[:-1], X, y, s.classifier_folds, seed).select(
            pl.lit(roi).alias("roi"), pl.lit(label).alias("family"), pl.all())
    info = {"families": details(pipe, cols), "radscore_adjustment":
            pipe.named_steps["radscore"].adjustment_}
    fitted = RoiFit(RoiInput(X, cols, icc), pipe[:-1].transform(X), data["patient_id"].to_list())
    return info, funnel(pipe, roi, cols), formulas, label, classifiers, fitted


@dataclass
class _ModelParts:
    """The study's model as the ROIs are fitted: what ``selection/model.json`` records, and
    the training tables its own predictions (``selection/predictions.parquet``) come from."""

    files: dict[str, str] = field(default_factory=dict)
    formulas: dict[str, dict] = field(default_factory=dict)
    wides: dict[str, pl.DataFrame] = field(default_factory=dict)
    deep_rois: list[str] = field(default_factory=list)
    combined: dict | None = None

    def add(self, roi: str, formula: dict, file: str, data: pl.DataFrame, fam_names: dict) -> None:
        self.files[roi], self.formulas[roi], self.wides[roi] = file, formula, data
        if set(formula_inputs(formula)) & set(fam_names.get("deep", [])):
            self.deep_rois.append(roi)

    def write(self, study: Study, dest: StudyPaths) -> tuple[Path, Path]:
        combined = "radscore_combined.json" if self.combined is not None else None
        record = model_record(study, self.files, self.deep_rois, combined)
        by_file = {**{self.files[r]: f for r, f in self.formulas.items()},
                   "radscore_combined.json": self.combined}
        predictions = from_record(record, by_file.__getitem__).predict(self.wides)
        paths = dest.model_record, dest.fitted_predictions
        write_text_atomic(paths[0], json.dumps(record, indent=2))
        write_atomic(paths[1], predictions.write_parquet)
        return paths


def run(study: Study) -> dict[str, Path]:
    """Run selection for every ROI; return the paths written (see module docstring).

    The outputs are written as one set: ``selection/`` is replaced whole together with
    ``radscores.parquet``, so a run that stops half-way leaves the previous results intact.
    """
    with staged(study.output, replace=(SELECTION,)) as work:
        paths = _run(study, study.paths.under(work))
    return {name: study.output / p.relative_to(work) for name, p in paths.items()}


def _run(study: Study, dest: StudyPaths) -> dict[str, Path]:
    cfg, s = study.config, study.config.select
    seed = stage_seed(study, "select")
    dest.selection.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(study)
    outcome = manifest.select(pl.col(cfg.patient_id).cast(pl.String).alias("patient_id"),
                              pl.col(cfg.outcome).cast(pl.Int64).alias("outcome"))
    longs = {}
    for fam in s.families:
        path = study.paths.feature_table(fam)
        if fam == "radiomics" or path.exists():
            longs[fam] = (read_long(path), path)
    prov = provenance(cfg, "select", {"stage_seed": seed})
    icc_rows: list[pl.DataFrame] = []
    steps, classif, scores = [], [], outcome
    roi_cols: list[str] = []
    decisions: dict[str, dict] = {}
    fam_cols: list[str] = []
    fits: dict[str, RoiFit] = {}
    model = _ModelParts()
    for roi in track([r.name for r in cfg.rois], description="selecting", console=console):
        data, fam_names, icc = _roi_data(study, longs, roi, outcome, icc_rows)
        info, fun, formulas, label, cl, fits[roi] = _fit_roi(study, roi, data, fam_names, icc, seed)
        model.add(roi, formulas[label], f"radscore_{roi}_{label}.json", data, fam_names)
        decisions[roi] = info
        steps.append(fun)
        if cl is not None:
            classif.append(cl)
        for fam, f in formulas.items():
            write_formula({**f, "provenance": prov}, dest.formula(f"radscore_{roi}_{fam}"))
            col = f"radscore_{roi}_{fam}"
            rs = apply_formula(f, data).rename({"radscore": col})
            scores = scores.join(rs, on="patient_id", how="left")
            fam_cols.append(col)
        scores = scores.with_columns(pl.col(f"radscore_{roi}_{label}").alias(f"radscore_{roi}"))
        roi_cols.append(f"radscore_{roi}")
    if len(roi_cols) > 1:
        both = scores.drop_nulls(roi_cols)
        m = RadscoreLogit().fit(both.select(roi_cols).to_numpy(), both["outcome"].to_numpy())
        f = formula_dict(m, roi_cols, family="combined", n=both.height,
                         events=int(both["outcome"].sum()))
        write_formula({**f, "provenance": prov}, dest.formula("radscore_combined"))
        model.combined = f
        scores = scores.join(apply_formula(f, both).rename({"radscore": "radscore_combined"}),
                             on="patient_id", how="left")
    main = [*roi_cols, *(["radscore_combined"] if len(roi_cols) > 1 else [])]
    scores = scores.select("patient_id", "outcome", *main, *fam_cols)
    tables = {"steps": pl.concat(steps), "radscores": scores}
    if icc_rows:
        tables["icc"] = pl.concat(icc_rows, how="vertical_relaxed")
    if s.validation_folds:
        tables["validation"] = _validate(study, fits, outcome, seed)
    if classif:
        tables["classifiers"] = pl.concat(classif)
    paths = {name: dest.radscores if name == "radscores" else dest.selection_file(f"{name}.parquet")
             for name in tables}
    for name, table in tables.items():
        write_atomic(paths[name], table.write_parquet)
    paths["model"], paths["predictions"] = model.write(study, dest)
    write_provenance(dest.provenance_of(SELECTION), prov)
    paths["details"] = write_text_atomic(dest.selection_file("details.json"),
                                         json.dumps(decisions, indent=2))
    return paths


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    paths = run(study)
    return StageResult(SPEC.name, paths, f"{len(paths)} output(s)")


SPEC = StageSpec(
    name="select",
    settings=("select", "evaluate.conf_level"),
    upstream=(RADIOMICS, DEEP),
    outputs=(SELECTION, RADSCORES),
    run=_run_stage,
    study_keys=(*CORE_KEYS, "covariates", "comparator"),  # the validated adjusted models
    description="ICC, the selection chain, Radscores and their full-pipeline validation",
)
