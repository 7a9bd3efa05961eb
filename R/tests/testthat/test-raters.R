# Cohen's kappa and model-vs-raters: hand computations and psych::cohen.kappa.

# Patients from a 2x2 table of the two raters' calls: rows rater a, columns rater b (1, 0).
from_table <- function(n11, n10, n01, n00) {
  data.frame(a = rep(c(1, 1, 0, 0), c(n11, n10, n01, n00)), b = rep(c(1, 0, 1, 0), c(n11, n10, n01, n00)))
}

test_that("kappa of a hand-worked 2x2 table", {
  # 20 both positive, 5 a only, 10 b only, 15 both negative: po = 35/50, marginals
  # a (.5, .5), b (.6, .4): pe = .3 + .2 = .5, kappa = (.7 - .5) / (1 - .5) = .4
  k <- cohen_kappa(from_table(20, 5, 10, 15), "a", "b")
  expect_equal(k$agreement, 0.7)
  expect_equal(k$expected, 0.5)
  expect_equal(k$kappa, 0.4)
  expect_equal(k$n, 50L)
})

test_that("kappa and its interval equal psych::cohen.kappa", {
  skip_if_not_installed("psych")
  for (tab in list(c(20, 5, 10, 15), c(40, 3, 7, 30), c(12, 9, 4, 25))) {
    d <- do.call(from_table, as.list(tab))
    k <- cohen_kappa(d, "a", "b")
    ref <- psych::cohen.kappa(d[c("a", "b")])
    expect_equal(k$kappa, ref$kappa)
    expect_equal(k$se, sqrt(ref$var.kappa))
    expect_equal(c(k$kappa_lower, k$kappa_upper), unname(ref$confid[1, c("lower", "upper")]))
  }
  # a wide interval is clipped at 1, as psych does
  d <- data.frame(a = c(1, 1, 0, 0, 1, 0, 1, 0, 1, 1), b = c(1, 0, 0, 0, 1, 0, 1, 1, 1, 1))
  ref <- suppressWarnings(psych::cohen.kappa(d))
  expect_equal(c(cohen_kappa(d, "a", "b")$kappa_lower, cohen_kappa(d, "a", "b")$kappa_upper),
               unname(ref$confid[1, c("lower", "upper")]))
})

test_that("model vs raters: counts, exact intervals, F1 and McNemar by hand", {
  # 10 patients; model risk >= 0.5 calls 1 1 1 1 0 | 1 0 0 0 0, rater r1 is right on all but row 4 and 6
  d <- data.frame(y = c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0),
                  risk = c(0.9, 0.8, 0.7, 0.5, 0.2, 0.6, 0.4, 0.3, 0.1, 0.49),
                  r1 = c(1, 1, 1, 0, 1, 1, 0, 0, 0, 0),
                  r2 = c(0, 0, 0, 0, 0, 1, 1, 1, 1, 1))
  r <- rater_comparison(d, "y", "risk", 0.5, c("r1", "r2"))
  expect_equal(r$reader, c("risk", "r1", "r2"))
  model <- r[1, ]
  expect_equal(unlist(model[c("tp", "fp", "tn", "fn")]), c(tp = 4, fp = 1, tn = 4, fn = 1))
  expect_equal(model$accuracy, 0.8)
  expect_equal(model$f1, 2 * 4 / (2 * 4 + 1 + 1))
  expect_equal(c(model$sensitivity_lower, model$sensitivity_upper), binom.test(4, 5)$conf.int[1:2])
  j <- binom.test(4, 6)$conf.int # J = TP / (TP + FP + FN) = 4 / 6
  expect_equal(c(model$f1_lower, model$f1_upper), 2 * j[1:2] / (1 + j[1:2]))
  expect_true(is.na(model$mcnemar_p))
  # r1 is right where the model is wrong (row 5), wrong where the model is right (row 4), both
  # wrong on row 6: one discordant pair each way, exact P = 1
  expect_equal(r$mcnemar_p[2], 1)
  # r2 is wrong on every row: 8 rows where only the model is right, none the other way
  expect_equal(r$accuracy[3], 0)
  expect_equal(r$mcnemar_p[3], 2 * 0.5^8)
  expect_true(is.na(r$ppv[3]) || r$ppv[3] == 0)
  expect_error(rater_comparison(transform(d, r1 = r1 * 2), "y", "risk", 0.5, "r1"), "'r1'")
})

test_that("print and autoplot of the reader table show each reader's estimates", {
  skip_if_not_installed("ggplot2")
  d <- data.frame(y = rep(0:1, each = 10), risk = c(seq(0.05, 0.5, length.out = 10), seq(0.4, 0.95, length.out = 10)),
                  r1 = rep(c(0, 1, 0, 1), c(8, 2, 3, 7)))
  r <- rater_comparison(d, "y", "risk", 0.5, "r1")
  expect_output(print(r), "Model vs raters")
  expect_output(print(cohen_kappa(transform(d, m = as.integer(risk >= 0.5)), "m", "r1")), "Cohen's kappa")
  pts <- ggplot2::layer_data(ggplot2::autoplot(r), 2)
  expect_equal(sort(pts$x), sort(unlist(r[c("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")])),
               ignore_attr = TRUE)
})
