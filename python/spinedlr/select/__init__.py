"""Feature selection and Radscore as scikit-learn transformers.

Public API
----------
* ``icc.icc_arrays`` / ``icc.icc_table`` — vectorised, pingouin-compatible ICC (six forms,
  95 % CI); ``icc.IccFilter`` keeps ICC > threshold (default ICC(2,1) > 0.75).
* ``filters`` — ``DropConstant``, ``AssociationFilter`` (|point-biserial r| ≥ 0.3),
  ``CorrelationPruner`` (Pearson or Spearman |r| > 0.9, keeps the more relevant feature),
  ``MannWhitneyFilter``.
* ``mrmr.mrmr_rank`` (MID or correlation mRMR), ``mrmr.MrmrRandomForest`` (k by RF 5-fold CV).
* ``embedded`` — ``LassoSelector`` (λ_min / λ_1se, 10-fold), ``SvmRfeSelector`` (RFECV,
  10-fold), ``LassoSvmRfe`` (intersection by default).
* ``radscore`` — ``RadscoreLogit`` (log-odds = Radscore), formula JSON/CSV export and
  ``apply_formula``.
* ``pipeline.roi_pipeline`` — the whole chain as one ``Pipeline``; ``pipeline.funnel``.
* ``validation.cv_auc`` (full pipeline vs final model only), ``validation.bootstrap_auc``,
  ``validation.full_pipeline_cv`` (the report's validated AUCs: repeated k-fold CV refitting
  every ROI chain, the combined Radscore and the adjusted models, on parallel workers).
* ``classifiers.compare_classifiers`` — nine classifiers by k-fold CV AUC.
* ``stage.run(study)`` — the ``spinedlr select run`` stage (files: see ``stage``).

All selectors implement ``fit``, ``transform``, ``get_support`` and
``get_feature_names_out``, so ``clone(pipeline).fit`` refits selection in each resample.
"""
