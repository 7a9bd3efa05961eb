test_that("hosmer_lemeshow matches a hand computation over deciles", {
  set.seed(5)
  p <- runif(200, 0.05, 0.9)
  y <- rbinom(200, 1, p)
  hl <- hosmer_lemeshow(y, p)
  grp <- cut(p, quantile(p, 0:10 / 10), include.lowest = TRUE)
  o <- tapply(y, grp, sum)
  e <- tapply(p, grp, sum)
  n <- tapply(y, grp, length)
  stat <- sum((o - e)^2 / (e * (1 - e / n)))
  expect_equal(hl$statistic, stat)
  expect_equal(hl$df, 8L)
  expect_equal(hl$p_value, pchisq(stat, 8, lower.tail = FALSE))
})

test_that("tied risks share a group and reduce the degrees of freedom", {
  p <- rep(c(0.1, 0.2, 0.3, 0.5, 0.7), each = 20)
  y <- rep(c(0, 1), 50)
  hl <- hosmer_lemeshow(y, p)
  expect_equal(hl$groups, 5L)
  expect_equal(hl$df, 3L)
  expect_error(hosmer_lemeshow(y, p * 3), "predicted risk in \\[0, 1\\]")
})

test_that("calibration equals rms::calibrate on the same resamples", {
  d <- asah()
  cal <- calibration(d, "y", "s100b", c("age", "ndka"), B = 60, seed = 1)
  expect_equal(unique(cal$model), c("unadjusted", "adjusted"))
  for (m in c("unadjusted", "adjusted")) {
    f <- if (m == "unadjusted") rms::lrm(y ~ s100b, data = d, x = TRUE, y = TRUE) else
      rms::lrm(y ~ s100b + age + ndka, data = d, x = TRUE, y = TRUE)
    set.seed(1)
    out <- utils::capture.output(ref <- rms::calibrate(f, B = 60))
    got <- cal[cal$model == m, ]
    expect_equal(got$predicted, unname(ref[, "predy"]), tolerance = 1e-8)
    expect_equal(got$observed_apparent, unname(ref[, "calibrated.orig"]), tolerance = 1e-8)
    expect_equal(got$observed_corrected, unname(ref[, "calibrated.corrected"]), tolerance = 1e-6)
    expect_equal(got$n_resamples, unname(as.integer(ref[, "n"])))
  }
})
