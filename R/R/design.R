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

# Logistic regression by Newton-Raphson with step halving, warm-started from `start`:
# maximum likelihood, or Firth's penalised likelihood with `firth = TRUE`; `fixed` (a column
# number, 0 for none) holds that coefficient at its start value (profile likelihood).
# Columns that are constant inside a resample (a rare level missing from a bootstrap sample)
# get coefficient 0, as glm()'s NA coefficients do, instead of failing the fit. The loop runs
# in C (src/logit.c): validation and calibration refit models thousands of times. When X'WX
# is singular, aliased columns of X (pivoted QR) get coefficient 0 and the rest is refitted;
# when X itself has full rank (weights vanishing under separation) a maximum likelihood fit is
# solved by a pivoted QR Newton in R instead. `converged` is FALSE when the iteration limit was reached or no step lowered the
# deviance; callers refuse or count such fits, never use them silently.
fit_logit <- function(X, y, start = NULL, maxit = 25L, tol = 1e-8, firth = FALSE, fixed = 0L) {
  n <- nrow(X)
  spread <- colSums(X * X) - colSums(X)^2 / n
  use <- spread > 1e-10 * n
  use[1] <- TRUE
  if (fixed > 0) use[fixed] <- TRUE
  Xu <- X[, use, drop = FALSE]
  beta <- if (is.null(start)) numeric(ncol(Xu)) else start[use]
  fixed_u <- if (fixed > 0) sum(use[seq_len(fixed)]) - 1L else -1L
  res <- .Call(spinedlr_fit_logit, Xu, as.numeric(y), as.numeric(beta), as.integer(maxit), as.numeric(tol),
               as.integer(firth), as.integer(fixed_u))
  if (res[[2]] < 0) {
    qx <- qr(Xu)
    keep <- sort(qx$pivot[seq_len(qx$rank)])
    if (qx$rank < ncol(Xu) && (fixed_u < 0 || (fixed_u + 1L) %in% keep)) {
      # aliased columns (a level absent from a resample leaves its dummies summing to the
      # intercept, say): coefficient 0, as glm's NA, and the rest refitted
      sub <- fit_logit(Xu[, keep, drop = FALSE], y, beta[keep], maxit, tol, firth,
                       if (fixed_u >= 0) match(fixed_u + 1L, keep) else 0L)
      coef <- numeric(ncol(X))
      coef[which(use)[keep]] <- sub$coef
      return(c(list(coef = coef), sub[-1]))
    }
    if (!firth && fixed == 0) res <- fit_logit_qr(Xu, y, beta, maxit, tol)
  }
  coef <- numeric(ncol(X))
  coef[use] <- res[[1]]
  list(coef = coef, converged = res[[2]] == 1L, eta = res[[3]], deviance = res[[4]])
}

# The singular-information fallback of fit_logit (maximum likelihood only), with the same
# acceptance and convergence rules as src/logit.c.
fit_logit_qr <- function(Xu, y, beta, maxit, tol) {
  deviance <- function(eta) 2 * sum(log1p(exp(-abs(eta))) + (abs(eta) + eta) / 2 - y * eta)
  eta <- drop(Xu %*% beta)
  dev <- deviance(eta)
  status <- 0L
  for (it in seq_len(maxit)) {
    small <- exp(-abs(eta)) / (1 + exp(-abs(eta)))
    p <- ifelse(eta >= 0, 1 - small, small)
    w <- small * (1 - small)
    g <- drop(crossprod(Xu, ifelse(eta >= 0, y - 1 + small, y - small)))
    step <- qr.coef(qr(crossprod(Xu, Xu * w)), g)
    step[is.na(step)] <- 0
    step <- drop(step)
    score <- sum(step * g)
    accepted <- FALSE
    for (half in 0:30) {
      eta_new <- drop(Xu %*% (beta + step))
      dev_new <- deviance(eta_new)
      if (is.finite(dev_new) && dev_new <= dev + 4 * .Machine$double.eps * (abs(dev) + 1)) {
        accepted <- TRUE
        break
      }
      step <- step / 2
    }
    if (!accepted) {
      if (score < 1e-10 * (abs(dev) + 1)) status <- 1L
      break
    }
    beta <- beta + step
    eta <- eta_new
    dev <- dev_new
    if (score < tol * (abs(dev) + 0.1)) {
      status <- 1L
      break
    }
  }
  list(beta, status, eta, dev)
}

# Does the maximum likelihood estimate exist? Under (quasi-)complete separation (a level
# with no events, for instance) the likelihood keeps rising along a direction d with
# (2y - 1) x'd >= 0 for every patient (Albert & Anderson 1984), and Newton's method walks
# along it, about one unit per iteration, while the finite coefficients converge. So Newton
# runs 10 iterations from zero, then 10 more, with no stopping rule: when the MLE exists the
# second ten barely move the linear predictor (quadratic convergence); under separation they
# move it by several units, and the move is itself the certificate: it must satisfy the sign
# condition above. (Starting from zero keeps the diverging weights above ~1e-9, where the
# information matrix can still be factored.) Returns NULL when the MLE exists, else the
# columns whose coefficient is infinite and the sign of their divergence.
mle_direction <- function(X, y) {
  first <- fit_logit(X, y, maxit = 10L, tol = 0)
  more <- fit_logit(X, y, start = first$coef, maxit = 10L, tol = 0)
  d <- more$coef - first$coef
  v <- drop(X %*% d)
  reach <- max(abs(v))
  if (!is.finite(reach) || reach < 1) return(NULL)
  if (min((2 * y - 1) * v) < -1e-3 * reach) return(NULL)
  scale <- c(1, apply(X[, -1, drop = FALSE], 2, stats::sd))
  list(infinite = abs(d) * scale > 1e-3 * reach, sign = sign(d))
}

# The study's model on a design: maximum likelihood when the MLE exists; otherwise what
# `separation` says. "firth": Firth's penalised likelihood (finite estimates whatever the
# separation; the usual remedy in clinical prediction), "refuse": stop with advice, "ml":
# keep the diverging fit, with its infinite coefficients flagged (for comparison with other
# software). `note` names the sparse levels found before fitting, for the refusal message.
fit_model <- function(X, y, separation, what, note = "") {
  separation <- match_separation(separation)
  ml <- fit_logit(X, y, maxit = 100L)
  check_separation(ml$eta, y, what)
  sep <- mle_direction(X, y)
  infinite <- rep(FALSE, ncol(X))
  if (is.null(sep)) {
    if (!ml$converged) stop_user("%s did not converge", what)
    return(c(ml, list(method = "ml", mle_exists = TRUE, infinite = infinite, separation = separation)))
  }
  terms <- paste(colnames(X)[sep$infinite], collapse = ", ")
  if (separation == "refuse") {
    stop_user("%s: the maximum likelihood estimate does not exist (quasi-complete separation; infinite: %s)%s; merge sparse levels, drop the covariate, or use separation = \"firth\"",
              what, terms, if (nzchar(note)) paste0("; ", note) else "")
  }
  if (separation == "firth") {
    f <- fit_logit(X, y, start = numeric(ncol(X)), maxit = 1000L, tol = 1e-14, firth = TRUE)
    if (!f$converged) stop_user("%s: Firth's penalised likelihood did not converge", what)
    return(c(f, list(method = "firth", mle_exists = FALSE, infinite = infinite, separation = separation)))
  }
  c(ml, list(method = "ml", mle_exists = FALSE, infinite = sep$infinite, sign = list(sep$sign),
             separation = separation))
}

# A refit of the study's model in a resample (validation, calibration), by the procedure of
# the full fit: Firth for a Firth model; otherwise maximum likelihood, and, when the MLE of
# that resample does not exist, Firth under separation = "firth" (the same rule as the full
# fit, so validation replays the whole modelling strategy) or a failure under "ml"/"refuse"
# (what rms::validate counts as "divergence or singularity"). NULL when the refit failed,
# else the fit with `firth` saying whether it needed Firth. (Firth's iteration uses the
# expected information and converges linearly, slowly near separation: hence its 1,000
# iterations, which quasi-separated resamples of the demo need.)
refit_model <- function(X, y, full, start = full$coef) {
  firth_fit <- function() {
    f <- fit_logit(X, y, start = start, maxit = 1000L, firth = TRUE)
    if (f$converged) c(f, list(firth = TRUE))
  }
  if (identical(full$method, "firth")) return(firth_fit())
  f <- fit_logit(X, y, start = start)
  separated <- may_be_separated(f) && !is.null(mle_direction(X, y))
  if (separated && identical(full$separation, "firth")) return(firth_fit())
  if (!f$converged || separated) return(NULL)
  c(f, list(firth = FALSE))
}

# A converged maximum likelihood fit whose linear predictors all lie within +-10 cannot be a
# separated one: convergence (score statistic < 1e-8 x deviance) along a diverging direction
# needs the separated patients' fitted risks within ~1e-6 of 0 or 1, |eta| > ~13. Saves the
# certificate's 20 Newton iterations on almost every resample.
may_be_separated <- function(fit) {
  !fit$converged || max(abs(fit$eta)) >= 10
}

match_separation <- function(separation) {
  if (!is.character(separation) || length(separation) != 1 || !separation %in% c("firth", "refuse", "ml")) {
    stop_user("separation must be \"firth\", \"refuse\" or \"ml\"")
  }
  separation
}

# Levels of nominal and binary covariates in which every patient has the same outcome, found
# before any fit: each makes the maximum likelihood estimate of a model containing that
# covariate non-existent (quasi-complete separation).
find_sparse_levels <- function(data, y, covariates) {
  rows <- list()
  for (v in covariates) {
    x <- data[[v]]
    if (is.ordered(x) || !(is.factor(x) || is.character(x) || is.logical(x) ||
                           (is.numeric(x) && length(unique(x)) == 2))) next
    f <- if (is.factor(x)) droplevels(x) else factor(x)
    n <- as.vector(table(f))
    ev <- as.vector(tapply(y, f, sum))
    bad <- ev == 0 | ev == n
    if (any(bad)) {
      rows[[length(rows) + 1]] <- data.frame(covariate = v, level = levels(f)[bad], n = as.integer(n[bad]),
                                             n_events = as.integer(ev[bad]), stringsAsFactors = FALSE)
    }
  }
  if (!length(rows)) {
    return(data.frame(covariate = character(0), level = character(0), n = integer(0), n_events = integer(0)))
  }
  do.call(rbind, rows)
}

describe_levels <- function(lv) {
  if (!nrow(lv)) return("")
  paste(sprintf("covariate '%s' level '%s': %d patient(s), %s", lv$covariate, lv$level, lv$n,
                ifelse(lv$n_events == 0, "no events", "only events")), collapse = "; ")
}

# Profile-likelihood confidence limits for every coefficient of a fit_model() fit: for each
# one, the values at which the (penalised, for Firth) deviance of the model refitted with that
# coefficient held fixed rises by qchisq(conf_level, 1) above the minimum, found by root
# finding. Exact to the root tolerance (MASS's confint.glm interpolates a spline through a
# coarse profile instead); for Firth fits these are profile penalised likelihood limits, as
# logistf's. A limit on the side towards which a maximum likelihood coefficient diverges
# (separation) does not exist and is Inf/-Inf; one not found within 4096 standard errors is NA.
profile_ci <- function(X, y, conf_level, fit) {
  crit <- stats::qchisq(conf_level, 1)
  firth <- identical(fit$method, "firth")
  b <- fit$coef
  se <- fit_se(X, fit)
  se[!is.finite(se)] <- 1
  out <- matrix(NA_real_, ncol(X), 2)
  for (j in seq_len(ncol(X))) {
    excess <- function(v) {
      f <- fit_logit(X, y, start = replace(b, j, v), maxit = if (firth) 1000L else 100L, firth = firth, fixed = j)
      f$deviance - fit$deviance - crit
    }
    for (side in 1:2) {
      sgn <- if (side == 1) -1 else 1
      if (fit$infinite[j] && fit$sign[[1]][j] == sgn) {
        out[j, side] <- sgn * Inf
        next
      }
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

# Standard errors from the inverse Fisher information at the estimate (glm's for maximum
# likelihood, brglm2's for Firth); NA for a coefficient that diverges under separation.
fit_se <- function(X, fit) {
  unname(sqrt(diag(fit_vcov(X, fit))))
}

# The covariance matrix behind fit_se() (rows and columns of diverging coefficients NA).
fit_vcov <- function(X, fit) {
  V <- matrix(NA_real_, ncol(X), ncol(X), dimnames = list(colnames(X), colnames(X)))
  keep <- !fit$infinite
  p <- stats::plogis(fit$eta)
  info <- crossprod(X[, keep, drop = FALSE], X[, keep, drop = FALSE] * (p * (1 - p)))
  V[keep, keep] <- chol2inv(chol(info))
  V
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
