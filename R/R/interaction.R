#' Interaction groups of two scores (Table 4 and its forest plot)
#'
#' Each score splits patients at its cut-off (High = score >= cut-off) into four groups;
#' logistic regression of the outcome on the group, High/High as reference, gives B, SE,
#' Wald P and the odds ratio with a profile-likelihood interval for each other group,
#' unadjusted and (with covariates) adjusted. Estimation as in [fit_models()] (`separation`):
#' a covariate level without events makes the adjusted model a Firth fit by default.
#'
#' @param data data.frame.
#' @param outcome 0/1 outcome column.
#' @param score_a,score_b score columns (e.g. muscle and disc Radscores).
#' @param cut_a,cut_b their cut-offs (e.g. Youden cut-offs from [roc_summary()]).
#' @param covariates covariate columns for the adjusted model (NULL: unadjusted only).
#' @param conf_level confidence level.
#' @param separation as in [fit_models()].
#' @return data.frame: model, group ("High/High", "Low/High", "High/Low", "Low/Low": level of
#'   score_a / level of score_b), level_a, level_b, reference, n, n_events, b, se, z, p_value,
#'   or, or_lower, or_upper (reference row: NA estimates, OR 1), estimation ("ml"/"firth").
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' ig <- interaction_groups(d, "poor", "s100b", "ndka", cut_a = 0.2, cut_b = 12)
#' ig
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(ig)
#' @export
interaction_groups <- function(data, outcome, score_a, score_b, cut_a, cut_b, covariates = NULL, conf_level = 0.95,
                               separation = "firth") {
  check_data(data, c(outcome, score_a, score_b, covariates))
  match_separation(separation)
  check_conf_level(conf_level)
  y <- check_outcome(data[[outcome]], outcome)
  a <- check_score(data[[score_a]], score_a)
  b <- check_score(data[[score_b]], score_b)
  if (!is.numeric(cut_a) || !is.numeric(cut_b) || length(cut_a) != 1 || length(cut_b) != 1) {
    stop_user("cut_a and cut_b must be single numbers")
  }
  la <- ifelse(a >= cut_a, "High", "Low")
  lb <- ifelse(b >= cut_b, "High", "Low")
  groups <- c("High/High", "Low/High", "High/Low", "Low/Low")
  g <- factor(paste(la, lb, sep = "/"), levels = groups)
  counts <- table(g)
  if (counts[["High/High"]] == 0) stop_user("no patient is High on both '%s' and '%s': no reference group", score_a, score_b)
  empty <- groups[counts == 0]
  if (length(empty)) stop_user("interaction group(s) %s have no patients", paste(empty, collapse = ", "))
  ev <- tapply(y, g, sum)
  for (gr in groups) {
    if (ev[[gr]] == 0 || ev[[gr]] == counts[[gr]]) {
      stop_user("complete separation: interaction group %s has %s", gr, if (ev[[gr]] == 0) "no events" else "only events")
    }
  }
  d <- data.frame(.group = g)
  for (v in covariates) d[[v]] <- data[[v]]
  specs <- list(list(name = "unadjusted", terms = ".group"))
  if (length(covariates)) specs[[2]] <- list(name = "adjusted", terms = c(".group", covariates))
  out <- list()
  for (m in specs) {
    X <- design_matrix(d, m$terms)
    what <- sprintf("the %s interaction model", m$name)
    fit <- study_fit(d, y, X, m$terms, separation, what)
    coefs <- fit$coef[2:4]
    if (any(fit$infinite[2:4])) coefs[fit$infinite[2:4]] <- fit$sign[[1]][2:4][fit$infinite[2:4]] * Inf
    se <- fit_se(X, fit)[2:4]
    ci <- exp(profile_ci(X, y, conf_level, fit)[2:4, , drop = FALSE])
    z <- ifelse(is.finite(coefs), coefs / se, NA_real_)
    out[[length(out) + 1]] <- data.frame(
      model = m$name, group = groups, level_a = c("High", "Low", "High", "Low"),
      level_b = c("High", "High", "Low", "Low"), reference = c(TRUE, FALSE, FALSE, FALSE),
      n = as.integer(counts), n_events = as.integer(ev), b = c(NA, coefs), se = c(NA, se), z = c(NA, z),
      p_value = c(NA, 2 * stats::pnorm(-abs(z))), or = c(1, exp(coefs)), or_lower = c(NA, ci[, 1]),
      or_upper = c(NA, ci[, 2]), estimation = fit$method, stringsAsFactors = FALSE, row.names = NULL
    )
  }
  new_result(do.call(rbind, out), "spinedlr_interaction")
}
