#' Ordinal baseline: class probabilities from a proportional-odds model
#'
#' Fits a cumulative-logit proportional-odds model of an ordered grade on the predictors,
#' by `rms::orm` (default) or `MASS::polr`, to `data` and returns each row of `newdata`'s
#' probability of every class, so an ordinal baseline sits beside the multi-class
#' classifiers in [multiclass_metrics()]. The two fits give the same model (up to
#' optimiser tolerance); the predicted class is the most probable one.
#'
#' @param data training data.frame.
#' @param outcome name of the grade column (ordered factor, factor in grade order, or
#'   numbers/labels sorted into grade order).
#' @param predictors names of the numeric (or factor) predictor columns.
#' @param newdata data.frame to predict (default `data`).
#' @param method `"orm"` or `"polr"`.
#' @return data.frame with one column `prob_<class>` per class (rows sum to one) and
#'   `predicted` (the most probable class, as text).
#' @examples
#' d <- pROC::aSAH
#' p <- ordinal_probabilities(d, "wfns", c("s100b", "age"))
#' head(p)
#' @export
ordinal_probabilities <- function(data, outcome, predictors, newdata = data, method = c("orm", "polr")) {
  method <- match.arg(method)
  check_data(data, c(outcome, predictors))
  check_data(newdata, predictors)
  classes <- mc_classes(data[[outcome]], NULL, outcome)
  y <- factor(as.character(data[[outcome]]), levels = classes, ordered = TRUE)
  y <- droplevels(y)
  if (nlevels(y) < 3) stop_user("outcome '%s' needs at least three grades for an ordinal model", outcome)
  X <- data[predictors]
  for (p in predictors) {
    if (anyNA(X[[p]])) stop_user("predictor '%s' has missing values", p)
  }
  fit_data <- cbind(X, .grade = y)
  f <- stats::reformulate(sprintf("`%s`", predictors), response = ".grade")
  if (method == "orm") {
    fit <- rms::orm(f, data = fit_data)
    P <- stats::predict(fit, newdata = newdata[predictors], type = "fitted.ind")
  } else {
    if (!requireNamespace("MASS", quietly = TRUE)) stop_user("method 'polr' needs the MASS package")
    fit <- MASS::polr(f, data = fit_data, Hess = TRUE)
    P <- stats::predict(fit, newdata = newdata[predictors], type = "probs")
  }
  P <- matrix(P, nrow = nrow(newdata))
  out <- as.data.frame(P)
  names(out) <- paste0("prob_", levels(y))
  out$predicted <- levels(y)[max.col(P, ties.method = "first")]
  out
}
