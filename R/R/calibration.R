#' Bootstrap calibration curve (the algorithm of rms::calibrate)
#'
#' For the unadjusted (and, with covariates, adjusted) logistic model of `score`: the
#' apparent calibration curve is a lowess smoother (`iter = 0`) of the outcome on the
#' predicted risk, read at 50 risks evenly spaced between the 5th smallest and 5th largest
#' prediction; its optimism is the mean, over bootstrap refits, of the bootstrap-sample
#' curve minus the curve of the bootstrap model on the original patients; the corrected
#' curve is the apparent one minus that optimism. This is `rms::calibrate(fit, B)` step for
#' step (same resamples for the same seed; a test checks equality), with the fast refit of
#' [validate_model()] so that B = 1,000 for several models takes seconds, not minutes.
#'
#' @inheritParams fit_models
#' @param score score column.
#' @param B number of bootstrap resamples.
#' @param seed random seed (NULL leaves the RNG alone).
#' @param separation as in [fit_models()]; refits use the full model's estimation and failed
#'   maximum likelihood refits (see [validate_model()]) are skipped.
#' @return data.frame: score, model, predicted, observed_apparent, observed_corrected,
#'   mean_absolute_error (of the corrected curve), n_resamples (resamples usable at that
#'   point).
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' cal <- calibration(d, "poor", "s100b", B = 50, seed = 1)
#' cal
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(cal)
#' @export
calibration <- function(data, outcome, score, covariates = NULL, B = 1000, seed = NULL, separation = "firth") {
  check_data(data, c(outcome, score, covariates))
  match_separation(separation)
  y <- check_outcome(data[[outcome]], outcome)
  check_score(data[[score]], score)
  if (!is.numeric(B) || B < 10) stop_user("B must be at least 10")
  out <- list()
  for (m in model_specs(score, covariates)) {
    X <- design_matrix(data, m$terms)
    what <- sprintf("the %s model of '%s'", m$name, score)
    full <- study_fit(data, y, X, m$terms, separation, what)
    if (!is.null(seed)) set.seed(seed)
    res <- calibrate_curve(X, y, full, B)
    out[[length(out) + 1]] <- data.frame(
      score = score, model = m$name, predicted = res$predy, observed_apparent = res$orig,
      observed_corrected = res$corrected, mean_absolute_error = mean(abs(res$corrected - res$predy), na.rm = TRUE),
      n_resamples = as.integer(res$n), stringsAsFactors = FALSE
    )
  }
  new_result(do.call(rbind, out), "spinedlr_calibration", risk = model_risks(data, outcome, score, covariates))
}

calibrate_curve <- function(X, y, full, B) {
  n <- length(y)
  p <- sort(stats::plogis(full$eta))
  predy <- seq(p[5], p[n - 4], length.out = 50)
  # rms reads the smoother with approx(ties = first value); lowess returns x sorted, so
  # dropping repeated x before approx(ties = "ordered") is the same and much faster.
  cal_error <- function(lp, yy) {
    smo <- stats::lowess(stats::plogis(lp), yy, iter = 0)
    first <- !duplicated(smo$x)
    stats::approx(smo$x[first], smo$y[first], xout = predy, ties = "ordered")$y - predy
  }
  orig <- cal_error(full$eta, y)
  total <- numeric(length(predy))
  count <- numeric(length(predy))
  for (i in seq_len(B)) {
    b <- boot_refit(X, y, full)
    if (is.null(b)) next
    d <- cal_error(b$fit$eta, b$y) - cal_error(drop(X %*% b$fit$coef), y)
    ok <- !is.na(d)
    total[ok] <- total[ok] + d[ok]
    count[ok] <- count[ok] + 1
  }
  optimism <- total / count
  list(predy = predy, orig = orig + predy, corrected = orig + predy - optimism, n = count)
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
#' @param p predicted risks between 0 and 1.
#' @param g number of risk groups (deciles by default).
#' @return one-row data.frame: statistic, df, p_value, groups.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' p <- predict_models(d, "poor", "s100b")
#' hosmer_lemeshow(d$poor, p$risk)
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
  new_result(data.frame(statistic = stat, df = as.integer(df), p_value = stats::pchisq(stat, df, lower.tail = FALSE),
             groups = as.integer(length(n))), "spinedlr_hosmer_lemeshow")
}
