test_that("optimism correction equals rms::validate (same resamples) for slope and intercept", {
  d <- asah()
  f <- rms::lrm(y ~ s100b + age + ndka, data = d, x = TRUE, y = TRUE)
  set.seed(7)
  ref <- rms::validate(f, B = 200)
  # the bootstrap draws rms's resamples whatever the folds drew first (its own set.seed)
  for (k in c(0, 10)) {
    v <- validate_model(d, "y", "s100b", c("age", "ndka"), loocv = k > 0, k = k, boot_n = 200, seed = 7)
    v <- v[v$model == "adjusted" & v$method == "optimism", ]
    expect_equal(v$estimate[v$statistic == "calibration_slope"], ref["Slope", "index.corrected"], tolerance = 1e-6)
    expect_equal(v$estimate[v$statistic == "calibration_intercept"], ref["Intercept", "index.corrected"], tolerance = 1e-6)
    # rms 6.5's C comes from binned predictions: close to, not equal to, the exact AUC.
    expect_equal(v$estimate[v$statistic == "auc"], ref["Dxy", "index.corrected"] / 2 + 0.5, tolerance = 0.005)
  }
})

test_that("LOOCV AUC is the AUC of pooled leave-one-out glm predictions", {
  d <- asah()
  v <- validate_model(d, "y", "s100b", c("age", "gender"), loocv = TRUE, k = 0, boot_n = 0)
  lp <- vapply(seq_len(nrow(d)), function(i) {
    g <- glm(y ~ s100b + age + gender, family = binomial(), data = d[-i, ])
    predict(g, d[i, ])
  }, numeric(1))
  ref <- pROC::roc(d$y, lp, levels = c(0, 1), direction = "<", quiet = TRUE)
  got <- v[v$model == "adjusted" & v$method == "loocv", ]
  expect_equal(got$estimate, as.numeric(pROC::auc(ref)), tolerance = 1e-6)
  expect_equal(got$lower, as.numeric(pROC::ci.auc(ref, method = "delong"))[1], tolerance = 1e-6)
})

test_that("k-fold and bootstrap rows are reproducible and plausible", {
  d <- asah()
  a <- validate_model(d, "y", "s100b", "age", boot_n = 100, seed = 11)
  b <- validate_model(d, "y", "s100b", "age", boot_n = 100, seed = 11)
  expect_identical(a, b)
  boot <- a[a$method == "bootstrap", ]
  expect_true(all(boot$lower < boot$estimate & boot$estimate < boot$upper))
  expect_setequal(unique(a$method), c("apparent", "loocv", "kfold", "bootstrap", "optimism"))
})

test_that("fewer events than folds is refused", {
  d <- asah()[1:40, ]
  d$y <- c(rep(1L, 5), rep(0L, 35))
  expect_error(validate_model(d, "y", "s100b", k = 10), "fewer events \\(5\\).*than folds \\(k = 10\\)")
})
