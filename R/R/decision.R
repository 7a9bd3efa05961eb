#' Decision curves: net benefit and net interventions avoided (dcurves semantics)
#'
#' A patient is treated when risk >= threshold, as in the dcurves package. Net benefit =
#' TP/n - FP/n * pt/(1 - pt); treat-all uses every patient as positive, treat-none has net
#' benefit 0. Net interventions avoided (per patient) = (net benefit - treat-all net benefit)
#' / (pt / (1 - pt)).
#'
#' @param data data.frame.
#' @param outcome 0/1 outcome column.
#' @param scores columns holding predicted risks between 0 and 1 (see [predict_models()]).
#' @param thresholds risk thresholds in (0, 1).
#' @return long data.frame: model (each score, "all", "none"), threshold, n, prevalence,
#'   test_pos_rate, tp_rate, fp_rate, net_benefit, net_intervention_avoided.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' d$risk_s100b <- plogis(-2 + 6 * d$s100b)
#' d$risk_age <- plogis(-4 + 0.06 * d$age)
#' decision_curve(d, "poor", c("risk_s100b", "risk_age"), thresholds = seq(0.05, 0.5, by = 0.05))
#' # or, as in dcurves::dca():
#' dc <- decision_curve(poor ~ risk_s100b + risk_age, d)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(dc)
#' @rdname decision_curve
#' @export
decision_curve.default <- function(data, outcome, scores, thresholds = seq(0.01, 0.99, by = 0.01), ...) {
  chkDots(...)
  check_data(data, c(outcome, scores))
  y <- check_outcome(data[[outcome]], outcome)
  check_thresholds(thresholds)
  n <- length(y)
  prev <- mean(y)
  odds <- thresholds / (1 - thresholds)
  nb_all <- prev - (1 - prev) * odds
  curve <- function(model, pos, tp, fp) {
    nb <- tp - fp * odds
    data.frame(model = model, threshold = thresholds, n = n, prevalence = prev, test_pos_rate = pos,
               tp_rate = tp, fp_rate = fp, net_benefit = nb, net_intervention_avoided = (nb - nb_all) / odds,
               stringsAsFactors = FALSE)
  }
  out <- list()
  for (s in scores) {
    p <- check_risk(data[[s]], s)
    hi <- outer(p, thresholds, ">=")
    tp <- colSums(hi & y == 1) / n
    fp <- colSums(hi & y == 0) / n
    out[[length(out) + 1]] <- curve(s, colMeans(hi), tp, fp)
  }
  zero <- rep(0, length(thresholds))
  out[[length(out) + 1]] <- curve("all", rep(1, length(thresholds)), rep(prev, length(thresholds)), rep(1 - prev, length(thresholds)))
  out[[length(out) + 1]] <- curve("none", zero, zero, zero)
  new_result(do.call(rbind, out), "spinedlr_decision_curve")
}

check_thresholds <- function(thresholds) {
  if (!is.numeric(thresholds) || !length(thresholds) || any(!is.finite(thresholds)) ||
      any(thresholds <= 0 | thresholds >= 1)) {
    stop_user("thresholds must be numbers strictly between 0 and 1")
  }
  invisible(TRUE)
}

#' Clinical impact curve (rmda definitions)
#'
#' Out of `population` patients, the number classified high risk (risk > threshold) and the
#' number of those who have the event, as rmda's clinical impact plot defines them.
#'
#' @param data data.frame.
#' @param outcome 0/1 outcome column.
#' @param score column of predicted risks between 0 and 1.
#' @param thresholds risk thresholds in (0, 1).
#' @param population size of the notional population.
#' @return data.frame: score, threshold, population, n_high_risk, n_high_risk_with_event.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' p <- predict_models(d, "poor", "s100b")
#' d$risk <- p$risk
#' ci <- clinical_impact(d, "poor", "risk", thresholds = seq(0.05, 0.95, by = 0.05))
#' ci
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(ci)
#' @export
clinical_impact <- function(data, outcome, score, thresholds = seq(0.01, 0.99, by = 0.01), population = 1000) {
  check_data(data, c(outcome, score))
  y <- check_outcome(data[[outcome]], outcome)
  p <- check_risk(data[[score]], score)
  check_thresholds(thresholds)
  if (!is.numeric(population) || population <= 0) stop_user("population must be positive")
  hi <- outer(p, thresholds, ">")
  new_result(data.frame(score = score, threshold = thresholds, population = population,
             n_high_risk = population * colMeans(hi), n_high_risk_with_event = population * colMeans(hi & y == 1),
             stringsAsFactors = FALSE), "spinedlr_clinical_impact")
}
