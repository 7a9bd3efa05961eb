test_that("roc_summary reproduces pROC's aSAH numbers (AUC, DeLong CI, Youden cut-off)", {
  r <- roc_summary(asah(), "s100b", "y")
  expect_equal(r$auc, 0.7314, tolerance = 1e-4)
  expect_equal(c(r$auc_lower, r$auc_upper), c(0.6301, 0.8326), tolerance = 1e-4)
  expect_equal(r$cutoff, 0.205)
  expect_equal(r$specificity, 0.8056, tolerance = 1e-4)
  expect_equal(r$sensitivity, 0.6341, tolerance = 1e-4)
  expect_equal(r$youden_j, r$sensitivity + r$specificity - 1)
  expect_equal(r$tp + r$fn, 41)
})

test_that("Clopper-Pearson intervals reproduce the reference study's Table 2 (disc Radscore)", {
  m <- confusion_metrics(tp = 29, fp = 23, tn = 108, fn = 10)
  expect_equal(round(c(m$sensitivity, m$sensitivity_lower, m$sensitivity_upper), 3), c(0.744, 0.579, 0.870))
  expect_equal(round(c(m$specificity, m$specificity_lower, m$specificity_upper), 3), c(0.824, 0.748, 0.885))
  expect_equal(round(c(m$ppv, m$ppv_lower, m$ppv_upper), 3), c(0.558, 0.413, 0.695))
  expect_equal(round(c(m$npv, m$npv_lower, m$npv_upper), 3), c(0.915, 0.850, 0.959))
  # The study prints 0.863 for an upper limit of 0.86245: within half a unit of the last digit.
  expect_lte(max(abs(c(m$accuracy, m$accuracy_lower, m$accuracy_upper) - c(0.806, 0.738, 0.863))), 6e-4)
  expect_equal(m$sensitivity_lower, binom.test(29, 39)$conf.int[1])
})

test_that("compare_auc reproduces pROC's paired DeLong test wfns vs s100b", {
  t <- compare_auc(asah(), "wfns", "s100b", "y")
  expect_equal(t$z, 2.209, tolerance = 1e-3)
  expect_equal(t$p_value, 0.0272, tolerance = 1e-3)
  expect_equal(t$difference, t$auc1 - t$auc2)
  expect_true(t$difference_lower < t$difference && t$difference < t$difference_upper)
})

test_that("partial_auc reproduces pROC's wfns pAUC over specificity 1-0.9", {
  expect_equal(partial_auc(asah(), "wfns", "y", c(1, 0.9))$pauc, 0.03344, tolerance = 1e-4)
  expect_equal(partial_auc(asah(), "wfns", "y", c(1, 0.9), correct = TRUE)$pauc, 0.6497, tolerance = 1e-4)
})

test_that("fast_auc equals pROC's AUC, ties included", {
  set.seed(3)
  for (i in 1:30) {
    y <- rbinom(60, 1, 0.3)
    if (length(unique(y)) < 2) next
    x <- round(rnorm(60) + y, sample(0:2, 1))
    expect_equal(fast_auc(y, x), as.numeric(pROC::auc(pROC::roc(y, x, levels = c(0, 1), direction = "<", quiet = TRUE))))
  }
})

test_that("fast_partial_auc equals pROC for both foci, corrected or not, ties included", {
  set.seed(4)
  for (i in 1:40) {
    y <- rbinom(80, 1, 0.35)
    if (length(unique(y)) < 2) next
    x <- round(rnorm(80) + y, sample(0:2, 1))
    r <- pROC::roc(y, x, levels = c(0, 1), direction = "<", quiet = TRUE)
    for (focus in c("specificity", "sensitivity")) {
      for (range in list(c(1, 0.8), c(0.9, 0.6))) {
        ref <- as.numeric(pROC::auc(r, partial.auc = range, partial.auc.focus = focus))
        expect_equal(fast_partial_auc(y, x, range, focus), ref, tolerance = 1e-12)
        if (ref > 0) {
          refc <- suppressWarnings(as.numeric(pROC::auc(r, partial.auc = range, partial.auc.focus = focus, partial.auc.correct = TRUE)))
          if (!is.na(refc)) expect_equal(fast_partial_auc(y, x, range, focus, correct = TRUE), refc, tolerance = 1e-12)
        }
      }
    }
  }
})

test_that("the vectorised bootstrap pAUC equals fast_partial_auc on each resample", {
  d <- asah()
  set.seed(9)
  cases <- which(d$y == 1)
  controls <- which(d$y == 0)
  ic <- replicate(25, sample(cases, replace = TRUE))
  ik <- replicate(25, sample(controls, replace = TRUE))
  for (focus in c("specificity", "sensitivity")) {
    boot <- spinedlr:::pauc_boot(d$wfns, ic, ik, c(1, 0.8), focus, FALSE)
    one <- vapply(1:25, function(b) {
      idx <- c(ik[, b], ic[, b])
      fast_partial_auc(d$y[idx], d$wfns[idx], c(1, 0.8), focus)
    }, numeric(1))
    expect_equal(boot, one, tolerance = 1e-12)
  }
})

test_that("compare_partial_auc agrees with pROC's bootstrap test and says it is a bootstrap", {
  d <- asah()
  res <- compare_partial_auc(d, "wfns", "s100b", "y", range = c(1, 0.8), boot_n = 2000, seed = 1)
  # pROC takes the partial AUC from the roc objects (roc.test's own arguments are ignored).
  r1 <- pROC::roc(d$y, d$wfns, levels = c(0, 1), direction = "<", quiet = TRUE, partial.auc = c(1, 0.8))
  r2 <- pROC::roc(d$y, d$s100b, levels = c(0, 1), direction = "<", quiet = TRUE, partial.auc = c(1, 0.8))
  set.seed(2)
  ref <- pROC::roc.test(r1, r2, method = "bootstrap", boot.n = 2000, paired = TRUE, progress = "none")
  expect_equal(res$pauc1, as.numeric(ref$estimate[1]), tolerance = 1e-12)
  expect_equal(res$pauc2, as.numeric(ref$estimate[2]), tolerance = 1e-12)
  expect_equal(res$p_value, ref$p.value, tolerance = 0.03)
  expect_match(res$method, "bootstrap")
  expect_match(res$method, "DeLong is not defined")
  again <- compare_partial_auc(d, "wfns", "s100b", "y", range = c(1, 0.8), boot_n = 2000, seed = 1)
  expect_identical(res, again)
})

test_that("bad input gets a clear message", {
  d <- asah()
  expect_error(roc_summary(d, "nope", "y"), "not in data: 'nope'")
  d$bad <- d$s100b
  d$bad[3] <- NaN
  expect_error(roc_summary(d, "bad", "y"), "score 'bad' has 1 missing or non-finite")
  d$y2 <- 1L
  expect_error(roc_summary(d, "s100b", "y2"), "only one class")
  d$y3 <- d$y + 1L
  expect_error(compare_auc(d, "s100b", "wfns", "y3"), "must be 0/1")
  expect_error(partial_auc(d, "s100b", "y", focus = "both"), "focus")
})
