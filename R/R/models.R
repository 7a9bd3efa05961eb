#' Unadjusted and adjusted logistic models
#'
#' For each score, the unadjusted model is `outcome ~ score` and the adjusted model adds every
#' covariate (a covariate equal to the score itself is left out, so a clinical comparator such
#' as Pfirrmann grade is adjusted for the other covariates). Models are fitted with
#' `rms::lrm` (estimates, standard errors, Wald P); odds-ratio intervals are profile
#' likelihood (exact root finding on the profiled deviance; agrees with `confint()` of the
#' same `glm`, which interpolates). The apparent AUC is pROC's on
#' the linear predictor; rms's own C index is reported as `rms_c` because rms 6.5 computes it
#' from binned predictions and can differ slightly.
#'
#' Covariate encoding by column type: numeric/logical as is; ordered factor as its level rank
#' (ordinal); factor/character as treatment dummies with the first level as reference
#' (nominal).
#'
#' @param data data.frame.
#' @param outcome 0/1 outcome column.
#' @param scores score columns, one unadjusted (and adjusted) model each.
#' @param covariates covariate columns for the adjusted models (NULL: unadjusted only).
#' @param conf_level confidence level.
#' @return data.frame, one row per model term: score, model ("unadjusted"/"adjusted"), term,
#'   b, se, z, p_value, or, or_lower, or_upper, n, n_events, auc, auc_lower, auc_upper
#'   (DeLong), rms_c.
#' @rdname fit_models
#' @export
fit_models.default <- function(data, outcome, scores, covariates = NULL, conf_level = 0.95, ...) {
  chkDots(...)
  check_data(data, c(outcome, scores, covariates))
  check_conf_level(conf_level)
  y <- check_outcome(data[[outcome]], outcome)
  for (s in scores) check_score(data[[s]], s)
  out <- list()
  for (s in scores) {
    for (m in model_specs(s, covariates)) {
      out[[length(out) + 1]] <- fit_one(data, y, s, m$name, m$terms, conf_level)
    }
  }
  new_result(do.call(rbind, out), "spinedlr_models")
}

model_specs <- function(score, covariates) {
  specs <- list(list(name = "unadjusted", terms = score))
  if (length(setdiff(covariates, score))) {
    specs[[2]] <- list(name = "adjusted", terms = model_terms(score, covariates))
  }
  specs
}

fit_one <- function(data, y, score, model, terms, conf_level) {
  X <- design_matrix(data, terms)
  fit <- lrm_fit(X, y, sprintf("the %s model of '%s'", model, score))
  b <- stats::coef(fit)
  se <- sqrt(diag(fit$var))
  z <- b / se
  ci <- profile_ci(X, y, conf_level)
  lp <- drop(X %*% b)
  auc <- as.numeric(pROC::ci.auc(make_roc(y, lp), conf.level = conf_level, method = "delong"))
  data.frame(
    score = score, model = model, term = colnames(X), b = unname(b), se = unname(se), z = unname(z),
    p_value = 2 * stats::pnorm(-abs(unname(z))), or = exp(unname(b)), or_lower = exp(ci[, 1]),
    or_upper = exp(ci[, 2]), n = length(y), n_events = sum(y), auc = auc[2], auc_lower = auc[1],
    auc_upper = auc[3], rms_c = unname(fit$stats["C"]), stringsAsFactors = FALSE, row.names = NULL
  )
}

# rms::lrm on a ready-made design matrix (no formula, so column names never reach the parser).
lrm_fit <- function(X, y, what) {
  check_separation(fit_logit(X, y)$eta, y, what)
  xm <- X[, -1, drop = FALSE]
  fit <- rms::lrm(y ~ xm, x = TRUE, y = TRUE)
  if (isTRUE(fit$fail)) stop_user("%s did not converge", what)
  names(fit$coefficients) <- colnames(X)
  fit
}

#' Linear predictors and risks of the unadjusted and adjusted models
#'
#' The models are those of [fit_models()]; Table 2's adjusted rows are ROC summaries of these
#' predictions, and decision and calibration curves use `risk`.
#'
#' @inheritParams fit_models
#' @param id optional patient id column, copied into the result.
#' @return long data.frame: (id), row (1..n), score, model, outcome, linear_predictor, risk.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' p <- predict_models(d, "poor", "s100b", covariates = "age")
#' head(p)
#' @export
predict_models <- function(data, outcome, scores, covariates = NULL, id = NULL) {
  check_data(data, c(outcome, scores, covariates, id))
  y <- check_outcome(data[[outcome]], outcome)
  for (s in scores) check_score(data[[s]], s)
  out <- list()
  for (s in scores) {
    for (m in model_specs(s, covariates)) {
      X <- design_matrix(data, m$terms)
      f <- fit_logit(X, y)
      check_separation(f$eta, y, sprintf("the %s model of '%s'", m$name, s))
      if (!f$converged) stop_user("the %s model of '%s' did not converge", m$name, s)
      d <- data.frame(row = seq_along(y), score = s, model = m$name, outcome = y,
                      linear_predictor = f$eta, risk = 1 / (1 + exp(-f$eta)), stringsAsFactors = FALSE)
      if (!is.null(id)) d <- cbind(data.frame(id = as.character(data[[id]]), stringsAsFactors = FALSE), d)
      out[[length(out) + 1]] <- d
    }
  }
  do.call(rbind, out)
}
