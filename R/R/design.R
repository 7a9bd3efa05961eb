# Design matrices and a fast logistic fit.
#
# Covariate columns are turned into model columns by their R type, which is how the Python
# side encodes the study's covariate types:
#   numeric / integer / logical -> one numeric column (continuous, binary 0/1)
#   ordered factor              -> its level rank 1, 2, ... (ordinal, "treated as numeric rank")
#   factor / character          -> treatment dummies, first level is the reference (nominal)
# Building the matrix ourselves (instead of a formula) means user column names never pass
# through R's parser, and every resample can reuse the same columns.

design_matrix <- function(data, terms) {
  cols <- list()
  labels <- character(0)
  term_of <- character(0)
  for (v in terms) {
    x <- data[[v]]
    n_na <- sum(is.na(x))
    if (n_na) stop_user("covariate '%s' has %d missing value(s)", v, n_na)
    if (is.ordered(x)) x <- as.integer(x)
    if (is.logical(x)) x <- as.integer(x)
    if (is.numeric(x)) {
      if (any(!is.finite(x))) stop_user("covariate '%s' has non-finite value(s) (NaN/Inf)", v)
      if (length(unique(x)) < 2) stop_user("covariate '%s' has only one level (%s)", v, format(x[1]))
      cols[[length(cols) + 1]] <- as.numeric(x)
      labels <- c(labels, v)
      term_of <- c(term_of, v)
    } else if (is.factor(x) || is.character(x)) {
      f <- if (is.factor(x)) droplevels(x) else factor(x)
      lv <- levels(f)
      if (length(lv) < 2) stop_user("covariate '%s' has only one level (%s)", v, lv[1])
      for (l in lv[-1]) {
        cols[[length(cols) + 1]] <- as.numeric(f == l)
        labels <- c(labels, sprintf("%s=%s", v, l))
        term_of <- c(term_of, v)
      }
    } else {
      stop_user("covariate '%s' has unsupported type '%s'", v, class(x)[1])
    }
  }
  X <- cbind(1, do.call(cbind, cols))
  colnames(X) <- c("intercept", labels)
  attr(X, "term") <- c("intercept", term_of)
  X
}

# Logistic regression by Newton-Raphson with step halving, warm-started from `start`.
# Columns that are constant inside a resample (a rare level missing from a bootstrap sample)
# get coefficient 0, as glm()'s NA coefficients do, instead of failing the fit. The loop runs
# in C (src/logit.c): validation and calibration refit models thousands of times. When X'WX
# is singular (collinear columns) the R loop below solves each step by a pivoted QR instead.
fit_logit <- function(X, y, start = NULL, offset = 0, maxit = 25L, tol = 1e-8) {
  n <- nrow(X)
  spread <- colSums(X * X) - colSums(X)^2 / n
  use <- spread > 1e-10 * n
  use[1] <- TRUE
  Xu <- X[, use, drop = FALSE]
  beta <- if (is.null(start)) numeric(ncol(Xu)) else start[use]
  res <- .Call(spinedlr_fit_logit, Xu, as.numeric(y), as.numeric(beta), as.numeric(offset),
               as.integer(maxit), as.numeric(tol))
  if (res[[2]] < 0) res <- fit_logit_qr(Xu, y, beta, offset, maxit, tol)
  coef <- numeric(ncol(X))
  coef[use] <- res[[1]]
  list(coef = coef, converged = res[[2]] == 1L, eta = res[[3]])
}

fit_logit_qr <- function(Xu, y, beta, offset, maxit, tol) {
  deviance <- function(eta) 2 * sum(log1p(exp(-abs(eta))) + (abs(eta) + eta) / 2 - y * eta)
  eta <- drop(Xu %*% beta) + offset
  dev_old <- deviance(eta)
  status <- 0L
  for (it in seq_len(maxit)) {
    p <- 1 / (1 + exp(-eta))
    w <- p * (1 - p) + 1e-12
    step <- qr.coef(qr(crossprod(Xu, Xu * w)), crossprod(Xu, y - p))
    step[is.na(step)] <- 0
    step <- drop(step)
    for (half in 0:30) {
      eta <- drop(Xu %*% (beta + step)) + offset
      dev <- deviance(eta)
      if (is.finite(dev) && dev <= dev_old + 1e-8) break
      step <- step / 2
    }
    beta <- beta + step
    if (abs(dev - dev_old) < tol * (abs(dev) + 0.1)) {
      status <- 1L
      break
    }
    dev_old <- dev
  }
  list(beta, status, eta)
}

# Profile-likelihood confidence limits for every coefficient: for each one, the values at
# which the deviance of the model refitted with that coefficient fixed (as an offset) rises
# by qchisq(conf_level, 1) above the minimum, found by root finding. Exact to the root
# tolerance (MASS's confint.glm interpolates a spline through a coarse profile instead) and
# fast enough for every model of a study. A limit that does not exist (separation) is NA.
profile_ci <- function(X, y, conf_level, fit = fit_logit(X, y)) {
  crit <- stats::qchisq(conf_level, 1)
  b <- fit$coef
  dev0 <- 2 * sum(log1p(exp(-abs(fit$eta))) + (abs(fit$eta) + fit$eta) / 2 - y * fit$eta)
  se <- sqrt(pmax(diag(chol2inv(chol(crossprod(X, X * (plogis(fit$eta) * (1 - plogis(fit$eta))))))), 1e-12))
  out <- matrix(NA_real_, ncol(X), 2)
  for (j in seq_len(ncol(X))) {
    Xj <- X[, -j, drop = FALSE]
    start <- b[-j]
    excess <- function(v) {
      f <- fit_logit(Xj, y, start = start, offset = X[, j] * v)
      eta <- f$eta
      2 * sum(log1p(exp(-abs(eta))) + (abs(eta) + eta) / 2 - y * eta) - dev0 - crit
    }
    for (side in 1:2) {
      sgn <- if (side == 1) -1 else 1
      step <- 2 * se[j]
      far <- b[j] + sgn * step
      k <- 0
      while (excess(far) < 0 && k < 12) {
        step <- step * 2
        far <- b[j] + sgn * step
        k <- k + 1
      }
      if (excess(far) < 0) next
      out[j, side] <- stats::uniroot(excess, sort(c(b[j], far)), tol = 1e-9)$root
    }
  }
  out
}

# Complete separation makes maximum likelihood estimates infinite; a score or model whose
# linear predictor puts every event above every non-event is refused with a clear message.
check_separation <- function(lp, y, what) {
  if (min(lp[y == 1]) > max(lp[y == 0]) || max(lp[y == 1]) < min(lp[y == 0])) {
    stop_user("complete separation: %s perfectly separates the outcome, so odds ratios are infinite", what)
  }
  invisible(TRUE)
}

model_terms <- function(score, covariates) {
  c(score, setdiff(covariates, score))
}
