#' spinedlr: clinical statistics for deep-learning-radiomics studies
#'
#' ROC analysis with DeLong intervals ([roc_summary()], [compare_auc()]), partial AUC
#' ([partial_auc()], [compare_partial_auc()]), unadjusted and adjusted logistic models
#' ([fit_models()], [predict_models()]), clinical-factor selection ([clinical_selection()]),
#' internal validation ([validate_model()]), calibration ([calibration()],
#' [hosmer_lemeshow()], external: [external_calibration()]), decision and clinical impact curves
#' ([decision_curve()], [clinical_impact()]), interaction groups ([interaction_groups()]) and
#' Table 1 ([table_one()]). For graded outcomes: multi-class metrics with patient-level
#' bootstrap intervals ([multiclass_metrics()], [multiclass_confusion()], [hand_till_auc()])
#' and an ordinal baseline ([ordinal_probabilities()]); for readers: Cohen's kappa
#' ([cohen_kappa()]) and the model against raters ([rater_comparison()]); and the nomogram of
#' a logistic model ([nomogram()], [nomogram_score()]).
#'
#' Every result is a data.frame with a class in front of `"data.frame"` (for example
#' `"spinedlr_roc"`), so it prints readably and has a `ggplot2::autoplot()` method, while
#' [as.data.frame()] gives the plain columns documented on each help page.
#'
#' @keywords internal
#' @useDynLib spinedlr, .registration = TRUE
#' @importFrom stats plogis
"_PACKAGE"
