# Result classes, print, autoplot and the formula interfaces.

polygon_area <- function(x, y) {
  j <- c(seq_along(x)[-1], 1)
  abs(sum(x * y[j] - x[j] * y)) / 2
}

test_that("results carry a class but as.data.frame() gives the documented columns", {
  d <- asah()
  r <- roc_summary(d, "s100b", "y")
  expect_s3_class(r, c("spinedlr_roc", "spinedlr_result", "data.frame"), exact = TRUE)
  plain <- as.data.frame(r)
  expect_identical(class(plain), "data.frame")
  expect_null(attr(plain, "curves"))
  expect_identical(names(plain), names(r))
  expect_identical(plain$auc, r$auc)
  classes <- c(
    fit_models = class(fit_models(d, "y", "s100b"))[1],
    validate_model = class(validate_model(d, "y", "s100b", k = 0, boot_n = 0, loocv = FALSE))[1],
    compare_auc = class(compare_auc(d, "s100b", "ndka", "y"))[1],
    partial_auc = class(partial_auc(d, "s100b", "y"))[1],
    hosmer_lemeshow = class(hosmer_lemeshow(d$y, stats::plogis(d$s100b)))[1],
    table_one = class(table_one(d, "y", c("age", "gender")))[1]
  )
  expect_equal(unname(classes), c("spinedlr_models", "spinedlr_validation", "spinedlr_auc_test", "spinedlr_pauc",
                                  "spinedlr_hosmer_lemeshow", "spinedlr_table_one"))
})

test_that("print shows estimates with their intervals and P as in a paper", {
  d <- asah()
  r <- roc_summary(d, "s100b", "y")
  out <- capture.output(print(r))
  expect_match(out[1], "ROC summary")
  expect_true(any(grepl(sprintf("%.3f (%.3f, %.3f)", r$auc, r$auc_lower, r$auc_upper), out, fixed = TRUE)))
  m <- fit_models(d, "y", "s100b", c("age", "gender"))
  out <- capture.output(print(m))
  expect_false(any(grepl("intercept", out)))
  adj <- m[m$model == "adjusted" & m$term == "s100b", ]
  expect_true(any(grepl(sprintf("%.2f (%.2f, %.2f)", adj$or, adj$or_lower, adj$or_upper), out, fixed = TRUE)))
  expect_true(any(grepl("<0.001", capture.output(print(compare_auc(d, "s100b", "wfns", "y"))))) ||
                compare_auc(d, "s100b", "wfns", "y")$p_value >= 0.001)
  # a result cut down to other columns prints as a data.frame
  expect_no_error(capture.output(print(r[, c("score", "auc")])))
})

test_that("the partial-AUC region drawn by autoplot has the partial AUC as its area", {
  skip_if_not_installed("ggplot2")
  d <- asah()
  for (focus in c("specificity", "sensitivity")) {
    for (range in list(c(1, 0.8), c(0.9, 0.6))) {
      p <- partial_auc(d, "s100b", "y", range = range, focus = focus)
      region <- ggplot2::layer_data(ggplot2::autoplot(p), 1)
      expect_equal(polygon_area(region$x, region$y), p$pauc, tolerance = 1e-10)
    }
  }
})

test_that("the ROC autoplot draws the pROC curve inside its bootstrap band", {
  skip_if_not_installed("ggplot2")
  d <- asah()
  r <- roc_summary(d, c("s100b"), "y")
  g <- ggplot2::autoplot(r, boot_n = 100, seed = 1)
  band <- ggplot2::layer_data(g, 1)
  path <- ggplot2::layer_data(g, 2)
  expect_true(all(band$ymin <= band$ymax))
  expect_equal(polygon_area(c(path$x, 1), c(path$y, 0)), r$auc, tolerance = 1e-10)
  cut <- ggplot2::layer_data(g, 3)
  expect_equal(c(cut$x, cut$y), c(1 - r$specificity, r$sensitivity))
})

test_that("calibration, decision, clinical impact and forest plots show the result's numbers", {
  skip_if_not_installed("ggplot2")
  d <- asah()
  cal <- calibration(d, "y", "s100b", "age", B = 20, seed = 1)
  g <- ggplot2::autoplot(cal)
  lines <- ggplot2::layer_data(g, 3)
  expect_equal(sort(lines$y), sort(c(cal$observed_apparent, cal$observed_corrected)))
  expect_equal(nrow(attr(cal, "risk")), 2 * nrow(d))
  bars <- ggplot2::layer_data(g, 2)
  expect_true(all(bars$ymax >= 0 & bars$ymax <= 0.15) && max(bars$ymax) == 0.15)

  d$risk <- predict_models(d, "y", "s100b")$risk
  dc <- decision_curve(d, "y", "risk", thresholds = c(0.1, 0.2, 0.3))
  expect_equal(sort(ggplot2::layer_data(ggplot2::autoplot(dc), 1)$y), sort(dc$net_benefit))
  ci <- clinical_impact(d, "y", "risk", thresholds = c(0.1, 0.2))
  expect_equal(sort(ggplot2::layer_data(ggplot2::autoplot(ci), 1)$y),
               sort(c(ci$n_high_risk, ci$n_high_risk_with_event)))

  m <- fit_models(d, "y", "s100b", c("age", "gender"))
  pts <- ggplot2::layer_data(ggplot2::autoplot(m), 3)
  expect_equal(sort(10^pts$x), sort(m$or[m$term != "intercept"]))
  ig <- interaction_groups(d, "y", "s100b", "ndka", 0.2, 12)
  pts <- ggplot2::layer_data(ggplot2::autoplot(ig), 3)
  expect_equal(sort(10^pts$x), sort(ig$or))
})

test_that("formula interfaces give the same results as the column-name calls", {
  d <- asah()
  expect_identical(fit_models(y ~ s100b + age + gender, d), fit_models(d, "y", "s100b", c("age", "gender")))
  expect_identical(fit_models(y ~ s100b, d, conf_level = 0.9), fit_models(d, "y", "s100b", conf_level = 0.9))
  d$p1 <- stats::plogis(d$s100b)
  d$p2 <- stats::plogis(d$age / 50 - 1)
  expect_identical(decision_curve(y ~ p1 + p2, d, thresholds = c(0.1, 0.5)),
                   decision_curve(d, "y", c("p1", "p2"), thresholds = c(0.1, 0.5)))
  d$`odd name` <- d$p1
  expect_identical(decision_curve(y ~ `odd name`, d)$model[1], "odd name")
  expect_error(fit_models(y ~ log(s100b), d), "column names of data")
  expect_error(fit_models(y ~ s100b * age, d), "interactions")
  expect_error(fit_models(~ s100b, d), "outcome on the left")
  expect_warning(fit_models(d, "y", "s100b", seed = 1), "seed")
})
