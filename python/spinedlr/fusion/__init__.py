"""The fusion stage: a multi-modal, multi-ROI study on a fixed train/validation/test split.

Zou et al. 2025 (issue 17) fuse the radiomics of several structures on CT and MRI early
(one table, ROI- and image-qualified names), select features on the training cohort,
train a 3D network on the training cohort for deep features, compare a dozen classifiers
by grid search inside cross-validation, turn the best one's out-of-fold probabilities into
signatures, combine them with clinical variables and compare the final model with
surgeons on the test cohort. Modules:

* ``settings`` — the ``fusion:`` section of study.yaml;
* ``cohorts`` — the patient-level split (stratified random, or roles by a centre column);
* ``features`` — the fused radiomics table (every ROI, every image) and the 3D network's
  pooled features;
* ``model`` — the train-only chains, the classifier comparison, signatures, combined model;
* ``statistics`` — per-cohort ROC/AUC, calibration, decision curves, model vs readers;
* ``stage`` — ``SPEC`` for the pipeline.
"""
