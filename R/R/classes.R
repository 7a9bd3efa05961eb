# Result classes. Every exported statistic returns a data.frame; a class in front of
# "data.frame" lets print() and autoplot() dispatch, while as.data.frame(), Python (rpy2)
# and any data.frame code see exactly the documented columns. What a plot needs beyond the
# table (the patients' scores for a ROC curve, the predicted risks for the calibration
# histogram) rides along as an attribute, so no statistic is recomputed to draw it.

new_result <- function(x, class, ...) {
  rownames(x) <- NULL
  structure(x, ..., class = c(class, "spinedlr_result", "data.frame"))
}

# The outcome and score of every patient, long, for drawing ROC curves later.
roc_curves <- function(data, scores, outcome) {
  y <- check_outcome(data[[outcome]], outcome)
  do.call(rbind, lapply(scores, function(s) {
    data.frame(score = s, outcome = y, value = check_score(data[[s]], s), stringsAsFactors = FALSE)
  }))
}

#' Plain data.frame of a spinedlr result
#'
#' Drops the result class and the attributes kept for plotting; the columns are those
#' documented on the help page of the function that made the result.
#'
#' @param x a result of a spinedlr function.
#' @param row.names,optional,... ignored (for compatibility with [base::as.data.frame()]).
#' @return a data.frame.
#' @examples
#' r <- roc_summary(data.frame(y = c(0, 0, 1, 1, 0, 1), s = c(1, 2, 3, 4, 3.5, 2.5)), "s", "y")
#' class(as.data.frame(r))
#' @export
as.data.frame.spinedlr_result <- function(x, row.names = NULL, optional = FALSE, ...) {
  attributes(x) <- attributes(x)[c("names", "row.names")]
  class(x) <- "data.frame"
  x
}

# Each patient's predicted risk under the models of calibration(), for its risk histogram.
model_risks <- function(data, outcome, score, covariates) {
  p <- predict_models(data, outcome, score, covariates)
  p[, c("score", "model", "risk")]
}
