#' Calibration in the large and calibration slope of risks in an external cohort
#'
#' How a frozen model's predicted risks agree with the outcomes of new patients (Van Calster
#' et al. 2016's "weak" calibration), with \eqn{lp = \mathrm{logit}(risk)}:
#'
#' * calibration in the large: the intercept \eqn{a} of `glm(outcome ~ offset(lp), binomial)`,
#'   0 when the mean risk is right (negative: risks too high), with its Wald interval and the
#'   Wald P of \eqn{a = 0};
#' * calibration slope: \eqn{b} of `glm(outcome ~ lp, binomial)`, 1 when the spread of risks is
#'   right (below 1: too extreme, the usual sign of overfitting), with its Wald interval and
#'   the Wald P of \eqn{b = 1};
#' * the observed and expected event rates and their ratio (O/E).
#'
#' The intercept is found by root finding on its score equation, the slope by the package's
#' logistic fit; both equal `glm`'s (a test checks). Nothing is refitted to the risks
#' themselves: the risks are the external cohort's predictions of the model fitted on the
#' training cohort.
#'
#' @param risk predicted risks, strictly between 0 and 1.
#' @param outcome 0/1 outcomes of the same patients.
#' @param conf_level confidence level.
#' @return one-row data.frame of class `spinedlr_external_calibration`: n, n_events,
#'   observed, expected, oe_ratio, intercept, intercept_lower, intercept_upper,
#'   intercept_p_value, slope, slope_lower, slope_upper, slope_p_value.
#' @examples
#' set.seed(3)
#' lp <- rnorm(300)
#' y <- rbinom(300, 1, plogis(0.8 * lp - 0.3))
#' external_calibration(plogis(lp), y)
#' @export
external_calibration <- function(risk, outcome, conf_level = 0.95) {
  check_conf_level(conf_level)
  y <- check_outcome(outcome, "outcome")
  p <- check_risk(risk, "risk")
  if (length(y) != length(p)) stop_user("risk and outcome have different lengths (%d and %d)", length(p), length(y))
  if (any(p <= 0 | p >= 1)) stop_user("'risk' must lie strictly between 0 and 1 (its logit is the offset)")
  lp <- stats::qlogis(p)
  q <- stats::qnorm(1 - (1 - conf_level) / 2)
  # calibration in the large: the score equation sum(y - plogis(a + lp)) = 0 falls in a
  a <- stats::uniroot(function(a) sum(y - stats::plogis(a + lp)), c(-1, 1), extendInt = "downX", tol = 1e-12)$root
  pa <- stats::plogis(a + lp)
  a_se <- 1 / sqrt(sum(pa * (1 - pa)))
  X <- cbind(intercept = 1, lp = lp)
  fit <- fit_model(X, y, "refuse", "the recalibration model of the external risks")
  b <- fit$coef[2]
  b_se <- fit_se(X, fit)[2]
  new_result(data.frame(
    n = length(y), n_events = sum(y), observed = mean(y), expected = mean(p), oe_ratio = mean(y) / mean(p),
    intercept = a, intercept_lower = a - q * a_se, intercept_upper = a + q * a_se,
    intercept_p_value = 2 * stats::pnorm(-abs(a / a_se)), slope = b, slope_lower = b - q * b_se,
    slope_upper = b + q * b_se, slope_p_value = 2 * stats::pnorm(-abs((b - 1) / b_se))
  ), "spinedlr_external_calibration")
}
