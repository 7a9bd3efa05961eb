#' Unadjusted and adjusted logistic models
#'
#' For each score, the unadjusted model is `outcome ~ score` and the adjusted model adds every
#' covariate (a covariate equal to the score itself is left out, so a clinical comparator such
#' as Pfirrmann grade is adjusted for the other covariates). Estimates are maximum likelihood
#' (equal to `glm`'s; standard errors from the inverse information, Wald P) with
#' profile-likelihood odds-ratio intervals (exact root finding on the profiled deviance;
#' agrees with `confint()` of the same `glm`, which interpolates). The apparent AUC is pROC's
#' on the linear predictor; rms's own C index is reported as `rms_c` (rms 6.5 computes it from
#' binned predictions and can differ slightly).
#'
#' Separation: when the maximum likelihood estimate does not exist (a level of a nominal or
#' binary covariate without events, or with only events, or any other quasi-complete
#' separation, detected by following the Newton iterations until they diverge and checking
#' the Albert-Anderson sign condition), `separation` decides: `"firth"` (default) fits Firth's
#' penalised likelihood instead (the estimate of `brglm2::brglmFit(type = "AS_mean")`, Wald
#' standard errors from the information at that estimate, profile penalised likelihood
#' intervals as logistf's); `"refuse"` stops with the separated terms and sparse levels named;
#' `"ml"` keeps the diverging maximum likelihood fit and reports its infinite coefficients as
#' `Inf`/`-Inf` with the non-existent interval limits `Inf` (odds ratio) or `0`, and `NA`
#' standard error and P. Columns `estimation` ("ml" or "firth") and `mle_exists` say which
#' happened for each model. Use [sparse_levels()] to list the levels before fitting.
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
#' @param separation what to do when the maximum likelihood estimate does not exist:
#'   `"firth"`, `"refuse"` or `"ml"` (see Separation).
#' @return data.frame, one row per model term: score, model ("unadjusted"/"adjusted"), term,
#'   b, se, z, p_value, or, or_lower, or_upper, n, n_events, auc, auc_lower, auc_upper
#'   (DeLong), rms_c (NA for Firth or separated fits), estimation, mle_exists.
#' @rdname fit_models
#' @export
fit_models.default <- function(data, outcome, scores, covariates = NULL, conf_level = 0.95,
                               separation = "firth", ...) {
  chkDots(...)
  check_data(data, c(outcome, scores, covariates))
  check_conf_level(conf_level)
  match_separation(separation)
  y <- check_outcome(data[[outcome]], outcome)
  for (s in scores) check_score(data[[s]], s)
  out <- list()
  for (s in scores) {
    for (m in model_specs(s, covariates)) {
      out[[length(out) + 1]] <- fit_one(data, y, s, m$name, m$terms, conf_level, separation)
    }
  }
  new_result(do.call(rbind, out), "spinedlr_models")
}

#' Levels without events (or with only events)
#'
#' Lists the levels of nominal and binary covariates (factors, characters, logicals, numbers
#' with two values) in which every patient has the same outcome. Each one makes the maximum
#' likelihood estimate of any model containing that covariate non-existent (quasi-complete
#' separation); see `separation` in [fit_models()]. Ordered factors enter models as a rank and
#' are not listed.
#'
#' @inheritParams fit_models
#' @param covariates covariate columns to check.
#' @return data.frame: covariate, level, n (patients), n_events; no rows when none.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' d$wfns_grade <- factor(d$wfns)
#' sparse_levels(d, "poor", c("gender", "wfns_grade"))
#' @export
sparse_levels <- function(data, outcome, covariates) {
  check_data(data, c(outcome, covariates))
  find_sparse_levels(data, check_outcome(data[[outcome]], outcome), covariates)
}

model_specs <- function(score, covariates) {
  specs <- list(list(name = "unadjusted", terms = score))
  if (length(setdiff(covariates, score))) {
    specs[[2]] <- list(name = "adjusted", terms = model_terms(score, covariates))
  }
  specs
}

# The study's model of `terms`, fitted as fit_models() says (shared by every function that
# fits the unadjusted or adjusted models, so all report the same method).
study_fit <- function(data, y, X, terms, separation, what) {
  fit_model(X, y, separation, what, describe_levels(find_sparse_levels(data, y, terms)))
}

fit_one <- function(data, y, score, model, terms, conf_level, separation) {
  X <- design_matrix(data, terms)
  fit <- study_fit(data, y, X, terms, separation, sprintf("the %s model of '%s'", model, score))
  b <- fit$coef
  if (any(fit$infinite)) b[fit$infinite] <- fit$sign[[1]][fit$infinite] * Inf
  se <- fit_se(X, fit)
  z <- ifelse(is.finite(b), b / se, NA_real_)
  ci <- profile_ci(X, y, conf_level, fit)
  auc <- as.numeric(pROC::ci.auc(make_roc(y, fit$eta), conf.level = conf_level, method = "delong"))
  rms_c <- NA_real_
  if (fit$method == "ml" && fit$mle_exists) {
    xm <- X[, -1, drop = FALSE]
    lrm <- rms::lrm(y ~ xm)
    if (!isTRUE(lrm$fail)) rms_c <- unname(lrm$stats["C"])
  }
  data.frame(
    score = score, model = model, term = colnames(X), b = unname(b), se = se, z = z,
    p_value = 2 * stats::pnorm(-abs(z)), or = exp(unname(b)), or_lower = exp(ci[, 1]),
    or_upper = exp(ci[, 2]), n = length(y), n_events = sum(y), auc = auc[2], auc_lower = auc[1],
    auc_upper = auc[3], rms_c = rms_c, estimation = fit$method, mle_exists = fit$mle_exists,
    stringsAsFactors = FALSE, row.names = NULL
  )
}

#' Linear predictors and risks of the unadjusted and adjusted models
#'
#' The models are those of [fit_models()]; Table 2's adjusted rows are ROC summaries of these
#' predictions, and decision and calibration curves use `risk`.
#'
#' @inheritParams fit_models
#' @param id optional patient id column, copied into the result.
#' @return long data.frame: (id), row (1..n), score, model, outcome, linear_predictor, risk,
#'   estimation ("ml" or "firth").
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' p <- predict_models(d, "poor", "s100b", covariates = "age")
#' head(p)
#' @export
predict_models <- function(data, outcome, scores, covariates = NULL, id = NULL, separation = "firth") {
  check_data(data, c(outcome, scores, covariates, id))
  match_separation(separation)
  y <- check_outcome(data[[outcome]], outcome)
  for (s in scores) check_score(data[[s]], s)
  out <- list()
  for (s in scores) {
    for (m in model_specs(s, covariates)) {
      X <- design_matrix(data, m$terms)
      f <- study_fit(data, y, X, m$terms, separation, sprintf("the %s model of '%s'", m$name, s))
      d <- data.frame(row = seq_along(y), score = s, model = m$name, outcome = y,
                      linear_predictor = f$eta, risk = 1 / (1 + exp(-f$eta)), estimation = f$method,
                      stringsAsFactors = FALSE)
      if (!is.null(id)) d <- cbind(data.frame(id = as.character(data[[id]]), stringsAsFactors = FALSE), d)
      out[[length(out) + 1]] <- d
    }
  }
  do.call(rbind, out)
}
