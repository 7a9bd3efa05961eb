# Known answers: glm(y ~ offset(lp)) and glm(y ~ lp) with confint.default().
# glm's default tolerance leaves its standard errors ~1e-6 off the converged ones.
tight <- stats::glm.control(epsilon = 1e-14, maxit = 100)

external_risks <- function(n = 400, seed = 9, intercept = -0.4, slope = 0.7) {
  set.seed(seed)
  lp <- rnorm(n, 0, 1.3)
  list(risk = plogis(lp), y = rbinom(n, 1, plogis(intercept + slope * lp)))
}

test_that("intercept and slope equal glm's, with Wald intervals and P", {
  e <- external_risks()
  lp <- qlogis(e$risk)
  r <- external_calibration(e$risk, e$y)
  g0 <- stats::glm(e$y ~ 1, offset = lp, family = stats::binomial, control = tight)
  g1 <- stats::glm(e$y ~ lp, family = stats::binomial, control = tight)
  expect_equal(r$intercept, unname(stats::coef(g0)), tolerance = 1e-8)
  expect_equal(c(r$intercept_lower, r$intercept_upper), unname(stats::confint.default(g0)[1, ]), tolerance = 1e-6)
  expect_equal(r$intercept_p_value, summary(g0)$coefficients[1, 4], tolerance = 1e-6)
  expect_equal(r$slope, unname(stats::coef(g1)[2]), tolerance = 1e-7)
  expect_equal(c(r$slope_lower, r$slope_upper), unname(stats::confint.default(g1)[2, ]), tolerance = 1e-6)
  se <- summary(g1)$coefficients[2, 2]
  expect_equal(r$slope_p_value, 2 * pnorm(-abs((stats::coef(g1)[[2]] - 1) / se)), tolerance = 1e-6)
  expect_equal(r$oe_ratio, mean(e$y) / mean(e$risk))
})

test_that("risks that are too high and too extreme are flagged; true risks are not", {
  bad <- external_calibration(external_risks(n = 2000)$risk, external_risks(n = 2000)$y)
  expect_lt(bad$intercept_upper, 0)
  expect_lt(bad$slope_upper, 1)
  good <- external_risks(n = 2000, intercept = 0, slope = 1)
  ok <- external_calibration(good$risk, good$y)
  expect_true(ok$intercept_lower < 0 && ok$intercept_upper > 0)
  expect_true(ok$slope_lower < 1 && ok$slope_upper > 1)
})

test_that("risks of 0 or 1, unequal lengths and non-binary outcomes are refused", {
  expect_error(external_calibration(c(0, 0.5, 0.7), c(0, 1, 1)), "strictly between")
  expect_error(external_calibration(c(0.2, 0.5), c(0, 1, 1)), "different lengths")
  expect_error(external_calibration(c(0.2, 0.5, 0.6), c(0, 2, 1)), "0/1")
  expect_output(print(external_calibration(external_risks()$risk, external_risks()$y)), "calibration in the large")
})
