# Formula interfaces, as R users know them from glm() and dcurves::dca(). The formula only
# names columns: every term must be a plain column of `data` (transform columns first), so
# the formula never becomes an expression evaluated on the data.

# The outcome and right-hand columns of `formula`, checked against `data`.
formula_columns <- function(formula, data) {
  if (!is.data.frame(data)) stop_user("'data' must be a data.frame")
  if (length(formula) != 3) stop_user("the formula needs the outcome on the left: outcome ~ score + ...")
  tt <- stats::terms(formula, data = data)
  if (any(attr(tt, "order") > 1)) stop_user("interactions are not supported in the formula; make a column instead")
  vars <- as.list(attr(tt, "variables"))[-1]
  plain <- vapply(vars, is.name, logical(1))
  if (!all(plain)) {
    stop_user("formula terms must be column names of data (transform columns first): %s",
              paste(vapply(vars[!plain], function(v) paste(deparse(v), collapse = ""), ""), collapse = ", "))
  }
  cols <- vapply(vars, as.character, "")
  rhs <- setdiff(cols[-1], cols[1])
  if (!length(rhs)) stop_user("the formula names no column on the right of ~")
  list(outcome = cols[1], rhs = rhs)
}

#' @param formula `outcome ~ score + covariate + ...`: the first term on the right is the
#'   score, the others are the covariates of the adjusted model.
#' @param ... for the formula method, further arguments of the default method
#'   (`conf_level`); none for the default method.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' m <- fit_models(d, "poor", "s100b", covariates = c("age", "gender"))
#' m
#' # the same models from a formula: the first term is the score, the others covariates
#' identical(fit_models(poor ~ s100b + age + gender, d), m)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(m) # forest plot
#' @rdname fit_models
#' @export
fit_models <- function(data, ...) UseMethod("fit_models")

#' @rdname fit_models
#' @export
fit_models.formula <- function(formula, data, ...) {
  f <- formula_columns(formula, data)
  covariates <- if (length(f$rhs) > 1) f$rhs[-1] else NULL
  fit_models.default(data, f$outcome, f$rhs[1], covariates, ...)
}

#' @param formula `outcome ~ model_a + model_b`: the outcome and the columns of predicted
#'   risks, as in `dcurves::dca()`.
#' @param ... for the formula method, further arguments of the default method
#'   (`thresholds`); none for the default method.
#' @rdname decision_curve
#' @export
decision_curve <- function(data, ...) UseMethod("decision_curve")

#' @rdname decision_curve
#' @export
decision_curve.formula <- function(formula, data, ...) {
  f <- formula_columns(formula, data)
  decision_curve.default(data, f$outcome, f$rhs, ...)
}
