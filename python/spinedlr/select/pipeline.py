"""The selection chain as one scikit-learn Pipeline, and its selection funnel.

Why one Pipeline: validation (cross-validation, bootstrap) must refit every data-driven
step inside each resample, or the selection sees the held-out patients and the AUC is
optimistic (the leakage gap `validation.cv_auc` measures). ``clone(pipeline).fit`` does
exactly that.

Layout for one ROI:

* one family: ``Pipeline(chain steps…, radscore)``;
* ``fusion="union"`` with several families (reference): ``Pipeline(select=ColumnTransformer(
  one chain per family on its own columns), radscore)`` — each family selected on its own,
  the Radscore fitted on the union of their final features;
* ``fusion="concat"`` (z-score fusion, Fan et al.): one chain over all columns that starts
  by z-scoring them.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from spinedlr.select.embedded import LassoSelector, LassoSvmRfe, SvmRfeSelector
from spinedlr.select.filters import (
    AssociationFilter,
    CorrelationPruner,
    DropConstant,
    MannWhitneyFilter,
)
from spinedlr.select.icc import IccFilter
from spinedlr.select.mrmr import MrmrRandomForest
from spinedlr.select.radscore import RadscoreLogit
from spinedlr.select.settings import SelectSettings


def family_chain(s: SelectSettings, seed: int, icc: np.ndarray | None = None,
                 pca: int | None = None, zscore: bool = False) -> Pipeline:
    """The selection steps for one feature matrix, in the order the settings switch on."""
    # ICC first: its values are aligned with the input columns (a fixed, outcome-free mask).
    steps: list = []
    if icc is not None and s.icc_threshold is not None:
        steps.append(("icc", IccFilter(icc=icc, threshold=s.icc_threshold)))
    steps.append(("constant", DropConstant()))
    if zscore:
        steps.append(("zscore", StandardScaler()))
    if pca:
        steps.append(("pca", PCA(n_components=pca, random_state=seed)))
    if s.mann_whitney_p is not None:
        steps.append(("mann_whitney", MannWhitneyFilter(alpha=s.mann_whitney_p)))
    if s.mrmr:
        steps.append(("mrmr_rf", MrmrRandomForest(
            method=s.mrmr_method, k_grid=tuple(s.mrmr_k_grid), folds=s.mrmr_folds,
            trees=s.rf_trees, bins=s.mrmr_bins, random_state=seed)))
    if s.pearson_threshold is not None:
        steps.append(("pearson", CorrelationPruner(s.pearson_threshold, "pearson")))
    if s.spearman_threshold is not None:
        steps.append(("spearman", CorrelationPruner(s.spearman_threshold, "spearman")))
    if s.association_threshold is not None:
        steps.append(("association", AssociationFilter(s.association_threshold)))
    lasso = LassoSelector(folds=s.lasso_folds, lambda_rule=s.lasso_lambda, random_state=seed)
    svm = SvmRfeSelector(folds=s.svm_rfe_folds, random_state=seed)
    if s.lasso and s.svm_rfe:
        steps.append(("lasso_svm_rfe", LassoSvmRfe(s.combine, lasso, svm)))
    elif s.lasso:
        steps.append(("lasso", lasso))
    elif s.svm_rfe:
        steps.append(("svm_rfe", svm))
    return Pipeline(steps)


def roi_pipeline(s: SelectSettings, seed: int, families: dict[str, list[int]],
                 icc: dict[str, np.ndarray | None]) -> Pipeline:
    """The whole chain for one ROI, ending in the Radscore.

    ``families`` maps family name → column indices of X; ``icc`` maps family → ICC values
    aligned with those columns (or None when there is no second rater).
    """
    def pca_for(fam: str) -> int | None:
        return s.deep_pca if fam == "deep" else None

    if len(families) == 1:
        (fam, _), = families.items()
        chain = family_chain(s, seed, icc[fam], pca_for(fam))
        return Pipeline([*chain.steps, ("radscore", RadscoreLogit())])
    if s.fusion == "concat":
        if any(pca_for(f) for f in families):
            raise ValueError("deep_pca with fusion='concat' is not supported; use fusion='union'")
        order = [i for cols in families.values() for i in cols]
        if order != list(range(len(order))):
            raise ValueError("fusion='concat' expects the families' columns in order")
        all_icc = None
        if all(icc[f] is not None for f in families):
            all_icc = np.concatenate([icc[f] for f in families])
        chain = family_chain(s, seed, all_icc, zscore=True)
        return Pipeline([*chain.steps, ("radscore", RadscoreLogit())])
    ct = ColumnTransformer(
        [(fam, family_chain(s, seed, icc[fam], pca_for(fam)), cols)
         for fam, cols in families.items()],
        remainder="drop", verbose_feature_names_out=False,
    )
    return Pipeline([("select", ct), ("radscore", RadscoreLogit())])


def selected_features(pipe: Pipeline, names: list[str]) -> list[str]:
    """Names of the features entering the Radscore of a fitted ROI pipeline."""
    return [str(n) for n in pipe[:-1].get_feature_names_out(np.asarray(names, dtype=object))]


def _chain_rows(chain: Pipeline, n_input: int) -> list[tuple[str, int, int]]:
    rows = [("input", n_input, n_input)]
    for name, step in chain.steps:
        if name == "zscore":
            continue
        if name == "pca":
            rows.append((name, int(step.n_features_in_), int(step.n_components_)))
        else:
            sup = step.get_support()
            rows.append((name, int(sup.size), int(sup.sum())))
    return rows


def _chains(pipe: Pipeline, families: dict[str, list[int]]) -> dict[str, Pipeline]:
    if "select" in pipe.named_steps:
        ct = pipe.named_steps["select"]
        return {fam: ct.named_transformers_[fam] for fam in families}
    label = "fused" if len(families) > 1 else next(iter(families))
    return {label: Pipeline(pipe.steps[:-1])}


def details(pipe: Pipeline, families: dict[str, list[int]]) -> dict[str, dict]:
    """What each data-driven step decided, per family: mRMR k and its RF CV AUC curve,
    LASSO λ_min / λ_1se / λ used, SVM-RFE size, and which steps made a logged adjustment."""
    out = {}
    for fam, chain in _chains(pipe, families).items():
        d: dict = {"adjusted_steps": [n for n, st in chain.steps if getattr(st, "adjusted_", 0)]}
        for name, st in chain.steps:
            if name == "mrmr_rf":
                d["mrmr_k"] = int(st.k_)
                d["mrmr_rf_cv_auc"] = {str(k): v for k, v in st.cv_auc_.items()}
            las = getattr(st, "lasso_", st if name == "lasso" else None)
            if las is not None:
                d["lasso"] = {"lambda_min": las.lambda_min_, "lambda_1se": las.lambda_1se_,
                              "lambda_used": las.lambda_, "n_selected": int(las.support_.sum())}
                if getattr(las, "adjusted_", False):
                    d["adjusted_steps"].append("lasso")
            svm = getattr(st, "svm_rfe_", st if name == "svm_rfe" else None)
            if svm is not None:
                d["svm_rfe_n_selected"] = int(svm.support_.sum())
        out[fam] = d
    return out


def funnel(pipe: Pipeline, roi: str, families: dict[str, list[int]]) -> pl.DataFrame:
    """Features in and out of each step (roi, family, step, n_in, n_out) of a fitted pipeline."""
    rows: list[dict] = []
    if "select" in pipe.named_steps:
        ct = pipe.named_steps["select"]
        for fam, cols in families.items():
            for step, a, b in _chain_rows(ct.named_transformers_[fam], len(cols)):
                rows.append({"roi": roi, "family": fam, "step": step, "n_in": a, "n_out": b})
        fam_label = "fused"
    else:
        fam_label = "fused" if len(families) > 1 else next(iter(families))
        n = sum(len(c) for c in families.values())
        for step, a, b in _chain_rows(Pipeline(pipe.steps[:-1]), n):
            rows.append({"roi": roi, "family": fam_label, "step": step, "n_in": a, "n_out": b})
    k = int(pipe.named_steps["radscore"].coef_.size)
    rows.append({"roi": roi, "family": fam_label, "step": "radscore", "n_in": k, "n_out": k})
    return pl.DataFrame(rows, schema={"roi": pl.String, "family": pl.String, "step": pl.String,
                                      "n_in": pl.Int64, "n_out": pl.Int64})
