# Quasi-complete separation on the demo cohort's own counts (segment L3/4: 6 patients, no
# events; Modic I: 1 patient, no events): the maximum likelihood estimate does not exist.

test_that("levels without events are listed before fitting", {
  lv <- sparse_levels(demo_cohort(), "recurrence", demo_covariates)
  expect_equal(lv$covariate, c("modic", "segment"))
  expect_equal(lv$level, c("I", "L3/4"))
  expect_equal(lv$n, c(1L, 6L))
  expect_equal(lv$n_events, c(0L, 0L))
  expect_equal(nrow(sparse_levels(asah(), "y", c("gender", "age"))), 0)
})

test_that("a non-existent MLE is flagged, with infinite estimates and limits (separation = 'ml')", {
  m <- fit_models(demo_cohort(), "recurrence", "radscore_disc", "segment", separation = "ml")
  adj <- m[m$model == "adjusted", ]
  expect_false(any(adj$mle_exists))
  expect_true(all(m$mle_exists[m$model == "unadjusted"]))
  seg <- adj[adj$term %in% c("segment=L4/5", "segment=L5/S1"), ]
  expect_equal(seg$or, c(Inf, Inf))
  expect_equal(seg$or_upper, c(Inf, Inf))
  expect_true(all(is.na(seg$se) & is.na(seg$p_value)))
  expect_true(all(is.finite(seg$or_lower)))
  # the finite coefficient converges to glm's (which stops at a large segment coefficient)
  g <- suppressWarnings(glm(recurrence ~ radscore_disc + segment, family = binomial(), data = demo_cohort()))
  expect_equal(adj$b[adj$term == "radscore_disc"], unname(coef(g)["radscore_disc"]), tolerance = 1e-6)
})

test_that("Firth's estimates equal brglm2's, with profile penalised likelihood intervals", {
  skip_if_not_installed("brglm2")
  d <- demo_cohort()
  m <- fit_models(d, "recurrence", "radscore_disc", "segment")
  adj <- m[m$model == "adjusted", ]
  expect_equal(unique(adj$estimation), "firth")
  expect_equal(m$estimation[m$model == "unadjusted"], rep("ml", 2))
  b <- glm(recurrence ~ radscore_disc + segment, family = binomial(), data = d, method = brglm2::brglmFit,
           type = "AS_mean", epsilon = 1e-12, maxit = 500)
  expect_equal(adj$b, unname(coef(b)), tolerance = 1e-6)
  expect_equal(adj$se, unname(sqrt(diag(vcov(b)))), tolerance = 1e-6)
  # the profile penalised likelihood limit, by brute force: optim() over the other coefficients
  X <- model.matrix(~ radscore_disc + segment, d)
  y <- d$recurrence
  pll <- function(beta) {
    eta <- drop(X %*% beta)
    p <- plogis(eta)
    sum(y * eta - log1p(exp(eta))) + 0.5 * as.numeric(determinant(crossprod(X, X * (p * (1 - p))))$modulus)
  }
  top <- pll(coef(b))
  excess <- function(j, v) {
    o <- optim(coef(b)[-j], function(bb) -pll(append(bb, v, j - 1)), method = "BFGS",
               control = list(reltol = 1e-14, maxit = 1000))
    2 * (top + o$value) - qchisq(0.95, 1)
  }
  j <- 4
  lo <- uniroot(function(v) excess(j, v), c(coef(b)[j] - 10, coef(b)[j]), tol = 1e-10)$root
  hi <- uniroot(function(v) excess(j, v), c(coef(b)[j], coef(b)[j] + 10), tol = 1e-10)$root
  expect_equal(c(adj$or_lower[j], adj$or_upper[j]), exp(c(lo, hi)), tolerance = 1e-5)
})

test_that("separation = 'refuse' names the terms and the level without events", {
  expect_error(fit_models(demo_cohort(), "recurrence", "radscore_disc", "segment", separation = "refuse"),
               "maximum likelihood estimate does not exist.*segment=L4/5.*covariate 'segment' level 'L3/4': 6 patient\\(s\\), no events")
  expect_error(fit_models(asah(), "y", "s100b", separation = "none"), "separation must be")
})

test_that("models whose MLE exists are untouched: maximum likelihood, as glm", {
  d <- asah()
  m <- fit_models(d, "y", "s100b", c("age", "gender"))
  expect_identical(unique(m$mle_exists), TRUE)
  expect_identical(unique(m$estimation), "ml")
})

test_that("a fit that cannot converge says so instead of returning an answer", {
  d <- asah()
  X <- cbind(1, d$s100b, d$age)
  f <- spinedlr:::fit_logit(X, d$y, maxit = 2L)
  expect_false(f$converged)
  f <- spinedlr:::fit_logit(X, d$y)
  g <- glm(y ~ s100b + age, family = binomial(), data = d)
  expect_true(f$converged)
  expect_equal(f$coef, unname(coef(g)), tolerance = 1e-7)
})

test_that("validation refits Firth models with Firth, and no resample fails", {
  v <- validate_model(demo_cohort(), "recurrence", "radscore_disc", demo_covariates, loocv = FALSE, k = 5,
                      boot_n = 30, seed = 1)
  adj <- v[v$model == "adjusted", ]
  expect_equal(unique(adj$estimation), "firth")
  expect_equal(adj$n_failed, rep(0L, nrow(adj)))
})

test_that("maximum likelihood validation counts separated resamples as failed and excludes them", {
  e <- asah()
  rare <- c(which(e$y == 1)[1], which(e$y == 0)[1])
  e$rare <- factor(ifelse(seq_len(nrow(e)) %in% rare, "rare", "common"), levels = c("common", "rare"))
  v <- validate_model(e, "y", "s100b", c("age", "rare"), loocv = TRUE, k = 0, boot_n = 200, seed = 1,
                      separation = "ml")
  adj <- v[v$model == "adjusted", ]
  # independent count: resamples in which the two-patient level appears with one outcome only
  set.seed(1)
  separated <- 0
  for (i in 1:200) {
    idx <- sample(nrow(e), replace = TRUE)
    yy <- e$y[idx][idx %in% rare]
    separated <- separated + (length(yy) > 0 && length(unique(yy)) == 1)
  }
  expect_equal(adj$n_failed[adj$method == "optimism"], rep(as.integer(separated), 3))
  expect_equal(adj$n_resamples[adj$method == "optimism"], rep(200L, 3))
  # leaving out one of the two rare patients separates the other: two failed LOOCV fits
  expect_equal(adj$n_failed[adj$method == "loocv"], 2L)
  # under the default the rule of the full fit is replayed: the separated refits use Firth
  v <- validate_model(e, "y", "s100b", c("age", "rare"), loocv = TRUE, k = 0, boot_n = 200, seed = 1)
  adj <- v[v$model == "adjusted", ]
  expect_equal(unique(adj$estimation), "ml")
  expect_equal(adj$n_failed[adj$method == "optimism"], rep(0L, 3))
  expect_equal(adj$n_firth[adj$method == "optimism"], rep(as.integer(separated), 3))
  expect_equal(adj$n_firth[adj$method == "loocv"], 2L)
})

test_that("the demo's adjusted model cannot be validated by maximum likelihood: every resample is separated", {
  v <- validate_model(demo_cohort(), "recurrence", "radscore_disc", demo_covariates, loocv = FALSE, k = 0,
                      boot_n = 50, seed = 1, separation = "ml")
  opt <- v[v$model == "adjusted" & v$method == "optimism", ]
  expect_equal(opt$n_failed, rep(50L, 3))
  expect_true(all(is.na(opt$estimate)))
})

test_that("aliased columns (a level missing from a resample) get coefficient 0 in Firth fits too", {
  d <- demo_cohort()
  keep <- d$segment != "L3/4"  # without L3/4 the two segment dummies sum to the intercept
  X <- spinedlr:::design_matrix(d, c("radscore_disc", "segment"))[keep, ]
  y <- d$recurrence[keep]
  f <- spinedlr:::fit_logit(X, y, maxit = 1000L, tol = 1e-14, firth = TRUE)
  expect_true(f$converged)
  expect_equal(f$coef[4], 0)
  ref <- spinedlr:::fit_logit(X[, 1:3], y, maxit = 1000L, tol = 1e-14, firth = TRUE)
  expect_equal(f$coef[1:3], ref$coef, tolerance = 1e-10)
})
