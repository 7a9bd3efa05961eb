#' Internal validation: leave-one-out, k-fold and bootstrap, refitting the whole model
#'
#' For each score, the unadjusted and (with covariates) adjusted models of [fit_models()] are
#' refitted inside every resample, so the adjusted multivariable fit is validated too.
#'
#' * `loocv`: each patient's linear predictor from the model fitted without them; AUC of the
#'   pooled out-of-fold predictions with a DeLong CI.
#' * `kfold`: stratified k folds (events and non-events spread evenly); AUC of the pooled
#'   out-of-fold predictions with a DeLong CI.
#' * `bootstrap`: the model fitted on each bootstrap sample is scored on the patients left
#'   out of it (out-of-bag); mean AUC with a percentile interval.
#' * `optimism`: Harrell's optimism correction (the algorithm of `rms::validate`): AUC and
#'   calibration slope and intercept of the apparent model minus the mean optimism
#'   (bootstrap-sample minus original-sample index). AUCs here are exact (pROC's), not rms
#'   6.5's binned C.
#'
#' Random streams: with a `seed`, the folds are drawn after `set.seed(seed)` and the
#' bootstrap resamples after `set.seed(seed)` again, so the bootstrap (and optimism) rows use
#' the resamples of `rms::validate(fit, B = boot_n)` after `set.seed(seed)` whatever `loocv`
#' and `k` are.
#'
#' Every refit replays the estimation rule of [fit_models()]'s `separation`: a Firth model is
#' refitted by Firth; a maximum likelihood model by maximum likelihood, and a refit whose
#' maximum likelihood estimate does not exist (a level without events in that resample:
#' quasi-complete separation) is refitted by Firth under `"firth"` (counted in `n_firth`), or
#' counts as failed under `"ml"` and `"refuse"`, like a refit that does not converge (as
#' `rms::validate`'s "divergence or singularity"), and is excluded. `n_failed` counts those
#' (for the bootstrap row, also resamples whose out-of-bag set lacks a class); the LOOCV and
#' k-fold AUCs pool the out-of-fold predictions of the folds that did not fail. A level absent
#' from a resample gets coefficient 0 (as glm's NA). Fits use a fast Newton-Raphson (in C).
#'
#' @inheritParams fit_models
#' @param loocv run leave-one-out.
#' @param k number of folds (0 skips k-fold).
#' @param boot_n number of bootstrap resamples (0 skips the bootstrap).
#' @param seed random seed for the folds and resamples (NULL leaves the RNG alone).
#' @return long data.frame: score, model, method (apparent, loocv, kfold, bootstrap,
#'   optimism), statistic (auc, calibration_slope, calibration_intercept), estimate, lower,
#'   upper, ci (how the interval was made), n_resamples (fits attempted: patients for LOOCV,
#'   folds, bootstrap resamples), n_failed (of those, fits excluded), n_firth (fits by
#'   Firth's penalised likelihood), estimation ("ml" or "firth": the full model's).
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' validate_model(d, "poor", "s100b", covariates = "age", k = 5, boot_n = 50, seed = 1)
#' @export
validate_model <- function(data, outcome, scores, covariates = NULL, loocv = TRUE, k = 10, boot_n = 1000,
                           seed = NULL, conf_level = 0.95, separation = "firth") {
  check_data(data, c(outcome, scores, covariates))
  check_conf_level(conf_level)
  match_separation(separation)
  y <- check_outcome(data[[outcome]], outcome)
  for (s in scores) check_score(data[[s]], s)
  if (k > 0) {
    if (k < 2) stop_user("k must be 0 (skip) or at least 2")
    if (sum(y) < k || sum(1 - y) < k) {
      stop_user("fewer events (%d) or non-events (%d) than folds (k = %d)", sum(y), sum(1 - y), as.integer(k))
    }
  }
  out <- list()
  for (s in scores) {
    for (m in model_specs(s, covariates)) {
      X <- design_matrix(data, m$terms)
      full <- study_fit(data, y, X, m$terms, separation, sprintf("the %s model of '%s'", m$name, s))
      out[[length(out) + 1]] <- validate_one(X, y, full, s, m$name, loocv, k, boot_n, seed, conf_level)
    }
  }
  new_result(do.call(rbind, out), "spinedlr_validation")
}

validate_one <- function(X, y, full, score, model, loocv, k, boot_n, seed, conf_level) {
  row <- function(method, statistic, est, lo, hi, ci, nr, nf, nfirth = 0) {
    data.frame(score = score, model = model, method = method, statistic = statistic, estimate = est,
               lower = lo, upper = hi, ci = ci, n_resamples = as.integer(nr), n_failed = as.integer(nf),
               n_firth = as.integer(nfirth), estimation = full$method, stringsAsFactors = FALSE)
  }
  delong <- function(lp) {
    ok <- !is.na(lp)
    as.numeric(pROC::ci.auc(make_roc(y[ok], lp[ok]), conf.level = conf_level, method = "delong"))
  }
  app <- delong(full$eta)
  rows <- list(row("apparent", "auc", app[2], app[1], app[3], "DeLong", 0, 0))
  cv <- function(method, folds) {
    res <- out_of_fold(X, y, folds, full)
    a <- delong(res$lp)
    row(method, "auc", a[2], a[1], a[3], "DeLong on pooled predictions", length(unique(folds)), res$failed, res$firth)
  }
  if (isTRUE(loocv)) rows[[length(rows) + 1]] <- cv("loocv", seq_along(y))
  if (k > 0) {
    if (!is.null(seed)) set.seed(seed)
    rows[[length(rows) + 1]] <- cv("kfold", stratified_folds(y, k))
  }
  if (boot_n > 0) {
    if (!is.null(seed)) set.seed(seed)
    rows <- c(rows, bootstrap_rows(X, y, full, boot_n, conf_level, row))
  }
  do.call(rbind, rows)
}

stratified_folds <- function(y, k) {
  folds <- integer(length(y))
  for (cls in c(0, 1)) {
    idx <- which(y == cls)
    folds[idx] <- sample(rep_len(seq_len(k), length(idx)))
  }
  folds
}

# Out-of-fold linear predictors; NA for the patients of a fold whose refit failed.
out_of_fold <- function(X, y, folds, full) {
  lp <- rep(NA_real_, length(y))
  failed <- 0L
  firth <- 0L
  for (f in unique(folds)) {
    test <- folds == f
    fit <- refit_model(X[!test, , drop = FALSE], y[!test], full)
    if (is.null(fit)) {
      failed <- failed + 1L
      next
    }
    firth <- firth + fit$firth
    lp[test] <- drop(X[test, , drop = FALSE] %*% fit$coef)
  }
  list(lp = lp, failed = failed, firth = firth)
}

# Calibration intercept and slope of a linear predictor on outcomes (logistic recalibration).
# A bootstrap model with a quasi-separated rare level puts some original patients at extreme
# linear predictors; the step-halving Newton of fit_logit() still converges there.
recalibrate <- function(lp, y) {
  f <- fit_logit(cbind(1, lp), y, start = c(0, 1))
  if (f$converged) f$coef else c(NA_real_, NA_real_)
}

# One bootstrap resample refitted from the full fit (shared by validation and calibration, so
# both skip the same resamples: one outcome class, or a failed refit, see refit_model()).
# Returns NULL for a skipped resample, else the fit, the resample indices and outcomes.
boot_refit <- function(X, y, full) {
  idx <- sample(length(y), replace = TRUE)
  yb <- y[idx]
  if (length(unique(yb)) < 2) return(NULL)
  fit <- refit_model(X[idx, , drop = FALSE], yb, full)
  if (is.null(fit)) return(NULL)
  list(fit = fit, idx = idx, y = yb)
}

bootstrap_rows <- function(X, y, full, boot_n, conf_level, row) {
  n <- length(y)
  app_auc <- fast_auc(y, full$eta)
  stats <- matrix(NA_real_, boot_n, 5, dimnames = list(NULL, c("oob", "auc_opt", "int_test", "slope_test", "firth")))
  for (i in seq_len(boot_n)) {
    b <- boot_refit(X, y, full)
    if (is.null(b)) next
    idx <- b$idx
    lp <- drop(X %*% b$fit$coef)
    train <- fast_auc(b$y, b$fit$eta)
    test <- fast_auc(y, lp)
    cal <- recalibrate(lp, y)
    oob <- setdiff(seq_len(n), idx)
    oob_auc <- if (length(unique(y[oob])) == 2) fast_auc(y[oob], lp[oob]) else NA_real_
    if (anyNA(cal)) next
    stats[i, ] <- c(oob_auc, train - test, cal[1], cal[2], b$fit$firth)
  }
  ok <- !is.na(stats[, "auc_opt"])
  oob_ok <- !is.na(stats[, "oob"])
  a <- (1 - conf_level) / 2
  q <- stats::quantile(stats[oob_ok, "oob"], c(a, 1 - a), names = FALSE)
  nf_oob <- sum(stats[oob_ok, "firth"])
  nf <- sum(stats[ok, "firth"])
  list(
    row("bootstrap", "auc", mean(stats[oob_ok, "oob"]), q[1], q[2], "percentile, out-of-bag", boot_n,
        boot_n - sum(oob_ok), nf_oob),
    row("optimism", "auc", app_auc - mean(stats[ok, "auc_opt"]), NA, NA, "none", boot_n, boot_n - sum(ok), nf),
    row("optimism", "calibration_slope", mean(stats[ok, "slope_test"]), NA, NA, "none", boot_n, boot_n - sum(ok), nf),
    row("optimism", "calibration_intercept", mean(stats[ok, "int_test"]), NA, NA, "none", boot_n, boot_n - sum(ok), nf)
  )
}
