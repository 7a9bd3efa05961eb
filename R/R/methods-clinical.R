# print() and autoplot() methods of the clinical-factor selection and external calibration.

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_clinical_selection <- function(x, ...) {
  print_table(x, c("analysis", "variable", "term", "or", "or_lower", "or_upper", "p_value", "selected"),
              sprintf("Clinical factors: univariable, then multivariable logistic regression of those with P < %s (OR, Wald CI)",
                      format(attr(x, "p_enter"))), function(x) {
    uni <- x[x$analysis == "univariable", , drop = FALSE]
    multi <- x[x$analysis == "multivariable", , drop = FALSE]
    at <- match(uni$term, multi$term)
    data.frame(variable = uni$term, `univariable OR (95% CI)` = fmt_ci(uni$or, uni$or_lower, uni$or_upper, 3),
               `univariable P` = fmt_p(uni$p_value),
               `multivariable OR (95% CI)` = ifelse(is.na(at), "", fmt_ci(multi$or, multi$or_lower, multi$or_upper, 3)[at]),
               `multivariable P` = ifelse(is.na(at), "", fmt_p(multi$p_value)[at]), check.names = FALSE)
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_external_calibration <- function(x, ...) {
  print_table(x, c("n", "n_events", "oe_ratio", "intercept", "intercept_lower", "intercept_upper", "slope",
                   "slope_lower", "slope_upper", "intercept_p_value", "slope_p_value"),
              "External calibration: in the large (ideal 0) and slope (ideal 1), Wald CI", function(x) {
    data.frame(n = x$n, events = x$n_events, `O/E` = fmt_num(x$oe_ratio),
               `calibration in the large` = fmt_ci(x$intercept, x$intercept_lower, x$intercept_upper),
               `P (= 0)` = fmt_p(x$intercept_p_value), slope = fmt_ci(x$slope, x$slope_lower, x$slope_upper),
               `P (= 1)` = fmt_p(x$slope_p_value), check.names = FALSE)
  })
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_clinical_selection
autoplot.spinedlr_clinical_selection <- function(object, ...) {
  d <- as.data.frame(object)
  d$analysis <- factor(d$analysis, levels = c("univariable", "multivariable"))
  d$term <- factor(d$term, levels = rev(unique(d$term)))
  forest(d, "term", "analysis")
}
