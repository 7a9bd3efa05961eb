#' Bootstrap calibration curve (rms::calibrate)
#'
#' Fits the unadjusted (and, with covariates, adjusted) logistic model of `score` with
#' `rms::lrm` and runs `rms::calibrate` (optimism-corrected smoothed calibration curve).
#'
#' @inheritParams fit_models
#' @param score score column.
#' @param B number of bootstrap resamples.
#' @param seed random seed (NULL leaves the RNG alone).
#' @return data.frame: score, model, predicted, observed_apparent, observed_corrected,
#'   mean_absolute_error (of the corrected curve), n_resamples.
#' @export
calibration <- function(data, outcome, score, covariates = NULL, B = 1000, seed = NULL) {
  check_data(data, c(outcome, score, covariates))
  y <- check_outcome(data[[outcome]], outcome)
  check_score(data[[score]], score)
  if (!is.numeric(B) || B < 10) stop_user("B must be at least 10")
  out <- list()
  for (m in model_specs(score, covariates)) {
    X <- design_matrix(data, m$terms)
    fit <- lrm_fit(X, y, sprintf("the %s model of '%s'", m$name, score))
    if (!is.null(seed)) set.seed(seed)
    cal <- utils::capture.output(res <- rms::calibrate(fit, B = B))
    res <- unclass(res)
    err <- abs(res[, "calibrated.corrected"] - res[, "predy"])
    out[[length(out) + 1]] <- data.frame(
      score = score, model = m$name, predicted = res[, "predy"], observed_apparent = res[, "calibrated.orig"],
      observed_corrected = res[, "calibrated.corrected"], mean_absolute_error = mean(err, na.rm = TRUE),
      n_resamples = as.integer(min(res[, "n"])), stringsAsFactors = FALSE, row.names = NULL
    )
  }
  do.call(rbind, out)
}

#' Hosmer-Lemeshow goodness-of-fit test
#'
#' Patients are grouped by quantiles of predicted risk (`quantile()` type 7 breaks at
#' 0, 1/g, ..., 1; intervals closed on the right, the lowest also on the left). Tied risks
#' always fall in the same group: when ties make breaks coincide, the duplicates are dropped
#' and fewer than `g` groups result, and the degrees of freedom are the number of groups
#' actually formed minus 2 (g - 2 without ties).
#'
#' @param y 0/1 outcomes.
#' @param p predicted risks in [0, 1].
#' @param g number of risk groups (deciles by default).
#' @return one-row data.frame: statistic, df, p_value, groups.
#' @export
hosmer_lemeshow <- function(y, p, g = 10) {
  y <- check_outcome(y, "y")
  p <- check_risk(p, "p")
  if (length(y) != length(p)) stop_user("y and p have different lengths (%d and %d)", length(y), length(p))
  if (!is.numeric(g) || g < 3) stop_user("g must be at least 3")
  breaks <- unique(stats::quantile(p, probs = seq(0, 1, length.out = g + 1), names = FALSE))
  if (length(breaks) < 4) stop_user("predicted risks take too few distinct values for %d groups", as.integer(g))
  grp <- cut(p, breaks = breaks, include.lowest = TRUE)
  obs <- tapply(y, grp, sum)
  expct <- tapply(p, grp, sum)
  n <- tapply(y, grp, length)
  keep <- !is.na(n)
  obs <- obs[keep]
  expct <- expct[keep]
  n <- n[keep]
  stat <- sum((obs - expct)^2 / (expct * (1 - expct / n)))
  df <- length(n) - 2
  data.frame(statistic = stat, df = as.integer(df), p_value = stats::pchisq(stat, df, lower.tail = FALSE),
             groups = as.integer(length(n)))
}
