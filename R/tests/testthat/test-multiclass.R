# Multi-class metrics: known answers from pROC (Hand & Till), from hand-worked tiny tables,
# and the binary special cases.

asah_raw <- function() {
  e <- new.env()
  utils::data("aSAH", package = "pROC", envir = e)
  e$aSAH
}

# Nine discs, three grades; the predicted grade gets 0.6, the others 0.2. Worked by hand:
# truth 1 1 1 1 2 2 2 3 3, predicted 1 1 1 2 2 3 3 3 1, so the confusion matrix is
#   truth 1: 3 1 0 / truth 2: 0 1 2 / truth 3: 1 0 1.
tiny <- function() {
  truth <- c(1, 1, 1, 1, 2, 2, 2, 3, 3)
  pred <- c(1, 1, 1, 2, 2, 3, 3, 3, 1)
  d <- data.frame(grade = truth)
  for (k in 1:3) d[[paste0("p", k)]] <- ifelse(pred == k, 0.6, 0.2)
  d
}

metric <- function(m, name, class = NA) {
  i <- m$metric == name & (if (is.na(class)) is.na(m$class) else m$class == class)
  m$estimate[i]
}

test_that("metrics of a hand-worked 3x3 confusion matrix", {
  m <- multiclass_metrics(tiny(), "grade", c("p1", "p2", "p3"), B = 0)
  expect_equal(metric(m, "accuracy"), 5 / 9)
  # Gorodkin: s = 9, c = 5, t = (4, 3, 2), p = (4, 2, 3): (45 - 28) / sqrt(52 * 52)
  expect_equal(metric(m, "mcc"), 17 / 52)
  # F1 = 2TP / (2TP + FP + FN): class 1 6/8, class 2 2/5, class 3 2/5
  expect_equal(metric(m, "f1", "1"), 0.75)
  expect_equal(metric(m, "f1", "2"), 0.4)
  expect_equal(metric(m, "macro_f1"), (0.75 + 0.4 + 0.4) / 3)
  # Brier: right rows 0.16 + 0.04 + 0.04, wrong rows 0.64 + 0.36 + 0.04
  expect_equal(metric(m, "brier"), (5 * 0.24 + 4 * 1.04) / 9)
  # class 1 vs rest: positives score .6 .6 .6 .2, negatives .2 .2 .2 .2 .6:
  # 12 wins + (3 + 4) ties / 2 out of 20 pairs
  expect_equal(metric(m, "auroc", "1"), 15.5 / 20)
  # average precision, class 1: threshold .6 precision 3/4 recall 3/4; threshold .2 precision 4/9 recall 1
  expect_equal(metric(m, "auprc", "1"), 0.75 * 0.75 + 0.25 * 4 / 9)
  expect_true(all(is.na(m$lower)) && all(m$n_boot == 0))
  cm <- multiclass_confusion(tiny(), "grade", c("p1", "p2", "p3"), B = 0)
  expect_equal(matrix(cm$n, 3, byrow = TRUE), matrix(c(3, 1, 0, 0, 1, 2, 1, 0, 1), 3, byrow = TRUE))
  expect_equal(cm$proportion[cm$truth == "2" & cm$predicted == "3"], 2 / 3)
})

test_that("Hand-Till AUC equals pROC::multiclass.roc on a constructed data set with ties", {
  set.seed(11)
  y <- sample(c("a", "b", "c", "d"), 120, replace = TRUE)
  P <- matrix(round(runif(480), 1), 120) + outer(y, c("a", "b", "c", "d"), "==") * 0.3
  P <- P / rowSums(P)
  colnames(P) <- c("a", "b", "c", "d")
  ref <- as.numeric(pROC::multiclass.roc(y, P)$auc)
  expect_equal(hand_till_auc(y, P), ref)
  d <- data.frame(y = y, P)
  m <- multiclass_metrics(d, "y", c("a", "b", "c", "d"), B = 0)
  expect_equal(metric(m, "hand_till_auc"), ref)
  # macro one-vs-rest AUROC is a different quantity from Hand-Till
  ovr <- mean(sapply(colnames(P), function(k) as.numeric(pROC::auc(y == k, P[, k], direction = "<", quiet = TRUE))))
  expect_equal(metric(m, "macro_auroc"), ovr)
})

test_that("Hand-Till AUC equals pROC::multiclass.roc on aSAH's gos6 (score and probabilities)", {
  a <- asah_raw()
  # one score, higher = higher grade; level 2 of gos6 is empty and skipped by both
  ref <- suppressWarnings(pROC::multiclass.roc(a$gos6, -a$s100b, direction = "<"))$auc
  expect_equal(hand_till_auc(a$gos6, -a$s100b), as.numeric(ref))
  # class probabilities of an ordinal model
  P <- as.matrix(ordinal_probabilities(a, "gos6", c("s100b", "age", "wfns"))[, 1:4])
  colnames(P) <- c("1", "3", "4", "5")
  ref <- suppressWarnings(pROC::multiclass.roc(a$gos6, P))$auc
  expect_equal(hand_till_auc(as.character(a$gos6), P, classes = c("1", "3", "4", "5")), as.numeric(ref))
})

test_that("two classes: AUROC as pROC::auc and MCC as the binary formula", {
  a <- asah_raw()
  d <- data.frame(y = as.integer(a$outcome == "Poor"), p1 = 0, p2 = a$s100b / max(a$s100b) * 0.9 + 0.05)
  d$p1 <- 1 - d$p2
  m <- multiclass_metrics(d, "y", c("p1", "p2"), B = 0)
  auc <- as.numeric(pROC::auc(d$y, d$p2, direction = "<", quiet = TRUE))
  expect_equal(metric(m, "auroc", "1"), auc)
  expect_equal(metric(m, "hand_till_auc"), auc)
  expect_equal(metric(m, "macro_auroc"), auc)
  pos <- d$p2 > 0.5
  tp <- sum(pos & d$y == 1); tn <- sum(!pos & d$y == 0); fp <- sum(pos & d$y == 0); fn <- sum(!pos & d$y == 1)
  expect_equal(metric(m, "mcc"), (tp * tn - fp * fn) / sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
  expect_equal(metric(m, "brier"), 2 * mean((d$p2 - d$y)^2))
})

test_that("the bootstrap resamples patients: percentile interval of the drawn groups", {
  set.seed(5)
  d <- data.frame(patient = rep(1:25, each = 3), grade = sample(1:3, 75, replace = TRUE))
  P <- matrix(runif(225), 75) + outer(d$grade, 1:3, "==") * 0.5
  d[c("p1", "p2", "p3")] <- P / rowSums(P)
  m <- multiclass_metrics(d, "grade", c("p1", "p2", "p3"), groups = "patient", B = 200, seed = 9)
  # the same resamples drawn by hand
  set.seed(9)
  acc <- replicate(200, {
    rows <- unlist(split(seq_len(75), d$patient)[sample.int(25, 25, replace = TRUE)])
    mean(max.col(as.matrix(d[rows, c("p1", "p2", "p3")]), "first") == d$grade[rows])
  })
  i <- m$metric == "accuracy"
  expect_equal(c(m$lower[i], m$upper[i]), unname(quantile(acc, c(0.025, 0.975))))
  expect_equal(m$n_boot[i], 200L)
  # a patient's duplicated rows move together: the interval equals the one-row-per-patient one
  one <- d[!duplicated(d$patient), ]
  twice <- one[rep(seq_len(25), each = 2), ]
  a <- multiclass_metrics(one, "grade", c("p1", "p2", "p3"), B = 100, seed = 3)
  b <- multiclass_metrics(twice, "grade", c("p1", "p2", "p3"), groups = "patient", B = 100, seed = 3)
  expect_equal(b$lower, a$lower)
  expect_equal(b$upper, a$upper)
  rows <- multiclass_metrics(twice, "grade", c("p1", "p2", "p3"), B = 100, seed = 3)
  expect_false(isTRUE(all.equal(rows$lower, a$lower)))
})

test_that("bad input fails with the column named", {
  d <- tiny()
  expect_error(multiclass_metrics(d, "grade", c("p1", "p2"), B = 0), "one probability column per class")
  d$p1[2] <- 1.4
  expect_error(multiclass_metrics(d, "grade", c("p1", "p2", "p3"), B = 0), "'p1'")
  expect_error(multiclass_metrics(tiny(), "grade", c("p1", "p2", "p3"), classes = 1:4, B = 0), "one probability")
  expect_error(multiclass_metrics(tiny(), "grade", c("p1", "p2", "p3"), groups = "nope", B = 0), "'nope'")
})

test_that("ordinal_probabilities equals rms::orm and MASS::polr called directly", {
  a <- asah_raw()
  fit <- rms::orm(wfns ~ s100b + age, data = a)
  ref <- predict(fit, newdata = a[c("s100b", "age")], type = "fitted.ind")
  p <- ordinal_probabilities(a, "wfns", c("s100b", "age"))
  expect_equal(unname(as.matrix(p[, 1:5])), unname(ref), tolerance = 1e-8)
  expect_equal(names(p), c(paste0("prob_", 1:5), "predicted"))
  expect_equal(rowSums(p[, 1:5]), rep(1, nrow(a)), tolerance = 1e-10)
  skip_if_not_installed("MASS")
  pf <- MASS::polr(wfns ~ s100b + age, data = a, Hess = TRUE)
  ref2 <- predict(pf, newdata = a[1:10, ], type = "probs")
  p2 <- ordinal_probabilities(a, "wfns", c("s100b", "age"), newdata = a[1:10, ], method = "polr")
  expect_equal(unname(as.matrix(p2[, 1:5])), unname(ref2), tolerance = 1e-8)
  expect_equal(p2$predicted, as.character(1:5)[max.col(ref2, "first")])
  # the two fits are the same model
  expect_equal(unname(as.matrix(p2[, 1:5])), unname(as.matrix(p[1:10, 1:5])), tolerance = 1e-4)
})

test_that("print and autoplot: the heat map shows the counts, the ROC curves the per-class AUCs", {
  skip_if_not_installed("ggplot2")
  m <- multiclass_metrics(tiny(), "grade", c("p1", "p2", "p3"), B = 0)
  expect_output(print(m), "Multi-class metrics")
  expect_output(print(attr(m, "confusion")), "Confusion matrix")
  tiles <- ggplot2::layer_data(ggplot2::autoplot(m), 1)
  text <- ggplot2::layer_data(ggplot2::autoplot(m), 2)
  expect_equal(sort(as.numeric(text$label)), sort(c(3, 1, 0, 0, 1, 2, 1, 0, 1)))
  expect_equal(nrow(tiles), 9)
  g <- ggplot2::autoplot(m, type = "roc")
  path <- ggplot2::layer_data(g, 1)
  expect_equal(length(unique(path$group)), 3)
  # area under each drawn curve (trapezoids) is the class's AUROC
  areas <- tapply(seq_len(nrow(path)), path$group, function(i) {
    x <- path$x[i]
    y <- path$y[i]
    sum(diff(x) * (utils::head(y, -1) + y[-1]) / 2)
  })
  expect_equal(sort(unname(as.numeric(areas))), sort(m$estimate[m$metric == "auroc"]))
})
