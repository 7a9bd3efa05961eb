"""The ``fusion:`` section of study.yaml: the multi-modal, multi-ROI fixed-split stage.

Why a section of its own: the design block says *what* is validated (a fixed, stratified
train/validation/test split, or roles by a centre column; which classifiers are compared);
this section holds the steps of Zou et al. 2025's pipeline that a study may tune — feature
normalisation, the F-test / Pearson / LASSO thresholds, the 3D network trained for deep
features and the ROIs it sees, the PCA size, the folds of the classifier comparison and of
the out-of-fold signatures, the clinical candidates of the combined model and the P that
selects them, the human readers the model is compared with. Every random step takes the
study seed (seeds.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from spinedlr.classify3d.settings import Classify3DSettings
from spinedlr.outputs import check_identifier
from spinedlr.settings import Settings

Name = Annotated[str, AfterValidator(check_identifier)]


class FusionSettings(Settings):
    """Defaults follow the paper (robust normalisation, F-test p > 0.05 removed, |r| > 0.9,
    10-fold LASSO, 10-fold classifier comparison); the 3D network defaults to the cpu preset."""

    rater: Name = Field("rater1", description="Whose masks the features and the 3D network use.")
    normalise: Literal["robust", "zscore", "none"] = Field(
        "robust", description="Feature normalisation fitted on the training cohort: "
        "(x - median) / IQR, (x - mean) / SD, or none.")
    f_test_p: float = Field(0.05, gt=0, le=1, description="F-test filter: p > this is removed.")
    pearson_threshold: float = Field(0.9, gt=0, lt=1, description="Greedy deletion until no "
                                     "pair of features has Pearson |r| above this.")
    lasso_folds: int = Field(10, ge=2, description="Folds of the LASSO's lambda choice.")
    deep: bool = Field(True, description="Train the 3D network and build the DL signature.")
    deep_rois: list[Name] = Field(
        default_factory=list, description="ROIs a 3D network is trained on (one network each, "
        "its images stacked as channels); empty = every ROI.")
    deep_pca: int = Field(16, ge=1, description="Principal components of the z-scored pooled "
                          "deep features (capped by the training rows and columns).")
    classify3d: Classify3DSettings = Field(default_factory=Classify3DSettings)
    cv_folds: int = Field(10, ge=2, description="Outer folds of the classifier comparison "
                          "(grid search inside each, design.search_folds).")
    signature_folds: int = Field(10, ge=2, description="Folds of the out-of-fold signatures.")
    deep_signature_folds: int = Field(
        5, ge=2, description="Folds of the training cohort's DL signature: in each, the 3D "
        "networks, the deep chain and the classifier are trained without the fold's patients, "
        "which they then predict. The network learns the outcome from its training patients, "
        "so features of a patient it was trained on would make that patient's DL signature "
        "in-sample however out of fold the classifier on top is. Costs K more networks per ROI.")
    clinical: list[Name] | None = Field(
        None, description="Candidate covariates of the combined model; null = every covariate.")
    clinical_p_enter: float | None = Field(
        0.05, gt=0, le=1, description="A candidate enters the combined model when its "
        "univariable and then its multivariable logistic P on the training cohort are below "
        "this (Zou et al.); null = every candidate, no selection.")
    centre: Name | None = Field(
        "centre", description="Manifest column reported as the centre of each patient (cohorts "
        "by centre); null = none.")
    readers: list[Name] = Field(
        default_factory=list, description="Manifest columns of human readers' 0/1 predictions "
        "(e.g. surgeons) compared with the model on the test cohort.")
