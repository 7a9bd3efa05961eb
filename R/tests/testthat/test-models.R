test_that("fit_models matches glm estimates and profile-likelihood intervals", {
  d <- asah()
  m <- fit_models(d, "y", "s100b", c("age", "gender"))
  adj <- m[m$model == "adjusted", ]
  g <- glm(y ~ s100b + age + gender, family = binomial(), data = d)
  expect_equal(adj$b, unname(coef(g)), tolerance = 1e-6)
  expect_equal(adj$se, unname(sqrt(diag(vcov(g)))), tolerance = 1e-4)
  ci <- suppressMessages(confint(g))  # MASS interpolates its profile: agreement to ~1e-4
  expect_equal(adj$or_lower, unname(exp(ci[, 1])), tolerance = 1e-3)
  expect_equal(adj$or_upper, unname(exp(ci[, 2])), tolerance = 1e-3)
  expect_equal(adj$term, c("intercept", "s100b", "age", "gender=Female"))
  expect_equal(adj$auc[1], as.numeric(pROC::auc(pROC::roc(d$y, fitted(g), levels = c(0, 1), direction = "<", quiet = TRUE))))
  expect_equal(unique(m$model), c("unadjusted", "adjusted"))
})

test_that("ordered factors enter models as their rank, characters as dummies", {
  d <- asah()
  d$grade <- factor(c("III", "IV", "V")[1 + d$wfns %% 3], levels = c("III", "IV", "V"), ordered = TRUE)
  m <- fit_models(d, "y", "s100b", "grade")
  expect_true("grade" %in% m$term)
  d$grade <- as.character(d$grade)
  m <- fit_models(d, "y", "s100b", "grade")
  expect_true(all(c("grade=IV", "grade=V") %in% m$term))
})

test_that("a comparator covariate is not adjusted for itself", {
  m <- fit_models(asah(), "y", "wfns", c("wfns", "age"))
  expect_equal(m$term[m$model == "adjusted"], c("intercept", "wfns", "age"))
})

test_that("predict_models gives the fitted risks of glm", {
  d <- asah()
  p <- predict_models(d, "y", "s100b", "age")
  g <- glm(y ~ s100b + age, family = binomial(), data = d)
  expect_equal(p$risk[p$model == "adjusted"], unname(fitted(g)), tolerance = 1e-7)
})

test_that("one-level covariates, missing covariates and complete separation are refused", {
  d <- asah()
  d$const <- "a"
  expect_error(fit_models(d, "y", "s100b", "const"), "covariate 'const' has only one level")
  d$miss <- d$age
  d$miss[5] <- NA
  expect_error(fit_models(d, "y", "s100b", "miss"), "covariate 'miss' has 1 missing")
  d$perfect <- d$y * 10 + runif(nrow(d))
  expect_error(fit_models(d, "y", "perfect"), "complete separation")
})
