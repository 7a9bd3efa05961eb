"""Selection settings (the `select:` section of study.yaml).

Defaults reproduce the reference study (Zhang et al. 2026): per ROI and feature family,
ICC(2,1) > 0.75 → mRMR + random forest (5-fold CV) → Pearson |r| > 0.9 pruning →
association |r| ≥ 0.3 → LASSO ∩ SVM-RFE (10-fold CV) → logistic Radscore; the ROI Radscore
uses the union of the families' final features. Setting a step's threshold to ``null``
switches that step off, which is how the other studies' chains are expressed (e.g. Fan et
al.: ``mann_whitney_p: 0.05``, ``spearman_threshold: 0.9``, ``mrmr: false``,
``pearson_threshold: null``, ``association_threshold: null``, ``svm_rfe: false``,
``deep_pca: 32``, ``fusion: concat``).
"""

from typing import Literal

from pydantic import Field

from spinedlr.settings import Settings


class SelectSettings(Settings):
    """Defaults are the reference study's ICC → mRMR+RF → correlation → LASSO/SVM-RFE chain."""

    model_rater: str = Field("rater1", description="Rater whose features are modelled.")
    icc_rater: str | None = Field("rater2", description="Second rater for the ICC; null = no ICC.")
    icc_form: Literal["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"] = "ICC2"
    icc_threshold: float | None = Field(0.75, ge=0, le=1)
    nonfinite: Literal["error", "drop_feature"] = Field(
        "error", description="NaN/inf feature values: stop with an error naming patient and "
        "feature, or drop those features with a logged warning.")
    families: list[Literal["radiomics", "deep"]] = ["radiomics", "deep"]
    deep_pca: int | None = Field(None, ge=1, description="PCA components for deep features.")
    fusion: Literal["union", "concat"] = Field(
        "union",
        description="union: select per family, ROI Radscore on the union of the final features "
        "(reference); concat: z-score both families and run one chain on them (Fan et al.).",
    )
    mann_whitney_p: float | None = Field(None, gt=0, le=1)
    mrmr: bool = True
    mrmr_method: Literal["mid", "corr"] = "mid"
    mrmr_bins: int = Field(5, ge=2)
    mrmr_k_grid: list[int] = [1, 2, 3, 4, 6, 8, 10, 12, 15, 20]
    mrmr_folds: int = Field(5, ge=2)
    rf_trees: int = Field(25, ge=1, description="Trees of the RF that judges k (not a model).")
    pearson_threshold: float | None = Field(0.9, gt=0, le=1)
    spearman_threshold: float | None = Field(None, gt=0, le=1)
    association_threshold: float | None = Field(0.3, ge=0, le=1)
    lasso: bool = True
    lasso_folds: int = Field(10, ge=2)
    lasso_lambda: Literal["min", "1se"] = "min"
    svm_rfe: bool = True
    svm_rfe_folds: int = Field(10, ge=2)
    combine: Literal["intersection", "union", "sequential"] = "intersection"
    compare_classifiers: bool = False
    classifier_folds: int = Field(5, ge=2)
    validation_folds: int = Field(
        5, ge=0, description="k of the full-pipeline repeated k-fold CV written to "
        "selection/validation.parquet (the report's validated AUCs); 0 skips it.")
    validation_repeats: int = Field(
        5, ge=1, description="Repeats of the full-pipeline k-fold CV (each a new stratified split).")
    seed_offset: int = Field(5, description="Added to the study seed for this stage "
                             "(spinedlr.seeds holds every other step's offset).")
