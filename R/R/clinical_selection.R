#' Clinical factors by univariable, then multivariable logistic regression
#'
#' The selection of Table 3 of Fan et al. (2024): each candidate is tested alone
#' (`outcome ~ candidate`); the candidates whose univariable P is below `p_enter` enter one
#' multivariable model together. Every row reports the maximum likelihood estimate (as
#' `glm`), its Wald standard error and P, and the odds ratio with its Wald interval
#' \eqn{\exp(b \pm z \cdot SE)} (the interval of `confint.default()`, which clinical tables of
#' this kind report).
#'
#' A candidate enters by its variable-level P, `p_variable`: for a one-column candidate the
#' term's Wald P; for a nominal candidate with several dummies the joint Wald test of all its
#' dummies (\eqn{b^T V^{-1} b} against \eqn{\chi^2} with as many degrees of freedom), so a
#' factor enters or stays out as a whole. Candidates are encoded as in [fit_models()]
#' (numeric/logical as is, ordered factor as its rank, factor/character as treatment dummies)
#' and must have no missing values. Separation is handled as `separation` says (see
#' [fit_models()]); for a Firth fit the Wald quantities are taken at the penalised estimate.
#'
#' @inheritParams fit_models
#' @param candidates names of the candidate clinical factor columns.
#' @param p_enter a candidate enters the multivariable model when its univariable
#'   `p_variable` is below this.
#' @return data.frame of class `spinedlr_clinical_selection`, one row per model term (no
#'   intercepts), univariable rows first: analysis ("univariable"/"multivariable"), variable,
#'   term, b, se, z, p_value, or, or_lower, or_upper, p_variable, n, n_events, estimation
#'   ("ml"/"firth"), selected (did the variable enter the multivariable model). No
#'   multivariable rows when no candidate enters.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' sel <- clinical_selection(d, "poor", c("age", "gender", "s100b", "ndka"))
#' sel
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(sel)
#' @export
clinical_selection <- function(data, outcome, candidates, p_enter = 0.05, conf_level = 0.95,
                               separation = "firth") {
  check_data(data, c(outcome, candidates))
  check_conf_level(conf_level)
  match_separation(separation)
  if (!length(candidates) || anyDuplicated(candidates)) stop_user("candidates must be distinct column names")
  if (outcome %in% candidates) stop_user("the outcome '%s' cannot be a candidate", outcome)
  if (!is.numeric(p_enter) || length(p_enter) != 1 || !(p_enter > 0 && p_enter <= 1)) {
    stop_user("p_enter must be a single number in (0, 1]")
  }
  y <- check_outcome(data[[outcome]], outcome)
  uni <- do.call(rbind, lapply(candidates, function(v) {
    wald_terms(data, y, v, "univariable", conf_level, separation)
  }))
  entered <- candidates[candidates %in% uni$variable[!is.na(uni$p_variable) & uni$p_variable < p_enter]]
  uni$selected <- uni$variable %in% entered
  out <- uni
  if (length(entered)) {
    multi <- wald_terms(data, y, entered, "multivariable", conf_level, separation)
    multi$selected <- TRUE
    out <- rbind(uni, multi)
  }
  new_result(out, "spinedlr_clinical_selection", p_enter = p_enter)
}

# One logistic model of `terms` (the study's fit, see fit_model()) as Wald rows per term.
wald_terms <- function(data, y, terms, analysis, conf_level, separation) {
  X <- design_matrix(data, terms)
  what <- sprintf("the %s model of %s", analysis, paste(sprintf("'%s'", terms), collapse = ", "))
  fit <- study_fit(data, y, X, terms, separation, what)
  b <- fit$coef
  if (any(fit$infinite)) b[fit$infinite] <- fit$sign[[1]][fit$infinite] * Inf
  V <- fit_vcov(X, fit)
  se <- sqrt(diag(V))
  z <- ifelse(is.finite(b), b / se, NA_real_)
  q <- stats::qnorm(1 - (1 - conf_level) / 2)
  term_of <- attr(X, "term")
  p_var <- vapply(term_of, function(v) {
    j <- which(term_of == v)
    if (any(!is.finite(b[j]))) return(NA_real_)
    w <- drop(crossprod(b[j], solve(V[j, j, drop = FALSE], b[j])))
    stats::pchisq(w, length(j), lower.tail = FALSE)
  }, numeric(1))
  keep <- term_of != "intercept"
  data.frame(
    analysis = analysis, variable = term_of[keep], term = colnames(X)[keep], b = unname(b[keep]),
    se = se[keep], z = z[keep], p_value = 2 * stats::pnorm(-abs(z[keep])), or = exp(unname(b[keep])),
    or_lower = exp(b[keep] - q * se[keep]), or_upper = exp(b[keep] + q * se[keep]),
    p_variable = unname(p_var[keep]), n = length(y), n_events = sum(y), estimation = fit$method,
    stringsAsFactors = FALSE, row.names = NULL
  )
}
