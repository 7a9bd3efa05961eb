# Multi-class metrics for graded outcomes (e.g. Pfirrmann grade per disc): one source of
# truth, called from Python through the bridge. Each metric comes with a percentile
# bootstrap interval that resamples patients (groups), not rows, because several discs of one
# patient are not independent.

#' Multi-class metrics with patient-level bootstrap intervals
#'
#' The predicted class of a row is the class with the highest probability (the first one on
#' ties). Definitions:
#' * `macro_auroc`: unweighted mean over classes of the one-vs-rest AUROC of that class's
#'   probability (`auroc` rows; ties count one half, as in pROC).
#' * `hand_till_auc`: Hand & Till's (2001) multi-class AUC, the mean over class pairs of
#'   \eqn{(A(i|j) + A(j|i))/2}; equal to `pROC::multiclass.roc(y, probs)$auc` ([hand_till_auc()]).
#' * `macro_auprc`: unweighted mean of the one-vs-rest area under the precision-recall curve
#'   estimated by *average precision*, \eqn{\sum_n (R_n - R_{n-1}) P_n} over the distinct
#'   thresholds (no interpolation; scikit-learn's `average_precision_score`), `auprc` rows.
#' * `macro_f1`: unweighted mean of the per-class F1 \eqn{2TP/(2TP+FP+FN)} (`f1` rows) over
#'   the classes that occur in the truth or the predictions (scikit-learn's default labels).
#' * `accuracy`: share of rows whose predicted class is the true class.
#' * `mcc`: Gorodkin's (2004) multi-class Matthews correlation coefficient from the confusion
#'   matrix (0 when undefined, as scikit-learn); equals the binary MCC for two classes.
#' * `brier`: Brier's original multi-class score, the mean over rows of
#'   \eqn{\sum_k (p_k - 1[y = k])^2} (0 best, 2 worst); for two classes twice the binary one.
#'
#' Intervals: `B` bootstrap resamples of the groups (patients) with replacement, each group
#' bringing all its rows; the interval is the percentile interval (`stats::quantile` type 7)
#' of the resampled values. A class absent from a resample leaves its per-class AUROC/AUPRC
#' undefined there; macro averages and the Hand-Till AUC then use the classes (pairs) present,
#' and `n_boot` counts the resamples in which a metric was defined.
#'
#' @param data data.frame, one row per unit (disc).
#' @param outcome name of the class column (factor, integer or character).
#' @param probs names of the probability columns, one per class, in the order of `classes`;
#'   values in \eqn{[0, 1]}. Rows need not sum to one (per-class calibrated probabilities),
#'   but the Brier score is only a proper score when they do.
#' @param classes the class labels; default the factor levels of `outcome`, else its sorted
#'   unique values. Every class must occur in `data`.
#' @param groups name of the patient column (rows of one patient are resampled together);
#'   NULL resamples rows.
#' @param B bootstrap resamples (0 for no intervals).
#' @param seed random seed for the resamples (NULL leaves the RNG alone).
#' @param conf_level confidence level.
#' @return data.frame of class `spinedlr_multiclass`: metric, class (NA for the overall
#'   metrics), estimate, lower, upper, n_boot. The confusion matrix rides along and is
#'   returned by [multiclass_confusion()]; `ggplot2::autoplot()` draws it or the per-class
#'   ROC curves.
#' @examples
#' set.seed(1)
#' d <- data.frame(patient = rep(1:30, each = 2), grade = rep(1:3, 20))
#' p <- exp(outer(d$grade, 1:3, function(g, k) -abs(g - k)) + matrix(rnorm(180), 60))
#' p <- p / rowSums(p)
#' d[c("p1", "p2", "p3")] <- p
#' m <- multiclass_metrics(d, "grade", c("p1", "p2", "p3"), groups = "patient", B = 50, seed = 1)
#' m
#' multiclass_confusion(d, "grade", c("p1", "p2", "p3"), B = 0)
#' @export
multiclass_metrics <- function(data, outcome, probs, classes = NULL, groups = NULL, B = 500,
                               seed = NULL, conf_level = 0.95) {
  mc <- multiclass_input(data, outcome, probs, classes, groups)
  boot <- mc_bootstrap(mc, B, seed, conf_level, mc_metrics)
  out <- cbind(mc_metric_labels(mc$classes), boot)
  new_result(out, "spinedlr_multiclass", curves = mc_curves(mc), confusion = mc_confusion_table(mc, boot_n = 0))
}

#' Multi-class confusion matrix with patient-level bootstrap intervals
#'
#' Counts of every (true, predicted) pair, the predicted class being the most probable one,
#' with the share of each true class predicted as each class (rows sum to one: the diagonal
#' is the per-class recall) and its percentile bootstrap interval over resampled groups, as
#' in [multiclass_metrics()].
#'
#' @inheritParams multiclass_metrics
#' @return data.frame of class `spinedlr_confusion`: truth, predicted, n, proportion (of the
#'   true class), lower, upper, n_boot.
#' @examples
#' d <- data.frame(y = c(1, 1, 2, 2, 3, 3), p1 = c(.8, .2, .1, .3, .1, .2),
#'                 p2 = c(.1, .7, .8, .4, .2, .2), p3 = c(.1, .1, .1, .3, .7, .6))
#' multiclass_confusion(d, "y", c("p1", "p2", "p3"), B = 0)
#' @export
multiclass_confusion <- function(data, outcome, probs, classes = NULL, groups = NULL, B = 500,
                                 seed = NULL, conf_level = 0.95) {
  mc <- multiclass_input(data, outcome, probs, classes, groups)
  mc_confusion_table(mc, B, seed, conf_level)
}

#' Hand & Till's multi-class AUC
#'
#' With a matrix of class probabilities: the mean over class pairs of
#' \eqn{(A(i|j) + A(j|i))/2}, where \eqn{A(i|j)} is the probability that a random row of
#' class \eqn{i} has a higher probability of class \eqn{i} than a random row of class
#' \eqn{j} (ties one half); equal to `pROC::multiclass.roc(y, probs)$auc`. With one score
#' (higher = later class, e.g. an ordinal model's linear predictor): the mean over pairs
#' \eqn{i < j} of the AUC of the score between rows of class \eqn{i} and \eqn{j}; equal to
#' `pROC::multiclass.roc(y, score, direction = "<")$auc`. Classes absent from `y` are skipped.
#'
#' @param y class of each row.
#' @param x numeric score, or a matrix/data.frame of class probabilities with one column per
#'   class in the order of `classes`.
#' @param classes class labels; default the factor levels of `y`, else its sorted unique values.
#' @return the AUC, a number.
#' @examples
#' y <- c(1, 1, 2, 2, 3, 3)
#' hand_till_auc(y, c(0.1, 0.5, 0.4, 0.7, 0.6, 0.9))
#' @export
hand_till_auc <- function(y, x, classes = NULL) {
  classes <- mc_classes(y, classes, "y")
  yi <- match(as.character(y), classes)
  if (anyNA(yi)) stop_user("y has values outside classes")
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.matrix(x)) {
    if (ncol(x) != length(classes)) stop_user("x needs one column per class (%d)", length(classes))
    if (!is.numeric(x) || any(!is.finite(x))) stop_user("x must be finite numbers")
    return(ht_matrix(yi, x))
  }
  x <- check_score(x, "x")
  if (length(x) != length(yi)) stop_user("x and y differ in length")
  present <- sort(unique(yi))
  if (length(present) < 2) stop_user("y has fewer than two classes")
  pairs <- utils::combn(present, 2)
  mean(apply(pairs, 2, function(p) {
    keep <- yi %in% p
    fast_auc(as.integer(yi[keep] == p[2]), x[keep])
  }))
}

# Class labels as character, from the factor levels or sorted unique values.
mc_classes <- function(y, classes, name) {
  if (anyNA(y)) stop_user("outcome '%s' has %d missing value(s)", name, sum(is.na(y)))
  if (is.null(classes)) classes <- if (is.factor(y)) levels(y) else sort(unique(y))
  classes <- as.character(classes)
  if (length(classes) < 2 || anyDuplicated(classes)) stop_user("classes must be at least two distinct labels")
  classes
}

# Checked input: y as 1..K, P the n x K probability matrix, idx the rows of each group.
multiclass_input <- function(data, outcome, probs, classes, groups) {
  check_data(data, c(outcome, probs, groups))
  y <- data[[outcome]]
  classes <- mc_classes(y, classes, outcome)
  if (length(probs) != length(classes)) {
    stop_user("give one probability column per class: %d classes (%s), %d columns", length(classes),
              paste(classes, collapse = ", "), length(probs))
  }
  yi <- match(as.character(y), classes)
  if (anyNA(yi)) {
    stop_user("outcome '%s' has values outside classes: %s", outcome,
              paste(utils::head(unique(as.character(y[is.na(yi)])), 5), collapse = ", "))
  }
  absent <- classes[tabulate(yi, length(classes)) == 0]
  if (length(absent)) stop_user("class(es) with no rows in '%s': %s", outcome, paste(absent, collapse = ", "))
  P <- vapply(probs, function(p) check_risk(data[[p]], p), numeric(nrow(data)))
  P <- matrix(P, nrow = nrow(data))
  g <- if (is.null(groups)) seq_len(nrow(data)) else data[[groups]]
  if (anyNA(g)) stop_user("groups column '%s' has missing values", groups)
  list(y = yi, P = P, classes = classes, probs = probs, idx = unname(split(seq_len(nrow(data)), g)))
}

# Every metric of one (re)sample, in the order of mc_metric_labels().
mc_metrics <- function(y, P) {
  K <- ncol(P)
  pred <- max.col(P, ties.method = "first")
  cm <- mc_table(y, pred, K)
  present <- tabulate(y, K) > 0 & tabulate(y, K) < length(y)
  auroc <- auprc <- rep(NA_real_, K)
  for (k in which(present)) {
    auroc[k] <- fast_auc(as.integer(y == k), P[, k])
    auprc[k] <- average_precision(as.integer(y == k), P[, k])
  }
  tp <- diag(cm)
  f1 <- 2 * tp / (2 * tp + (colSums(cm) - tp) + (rowSums(cm) - tp))
  used <- rowSums(cm) + colSums(cm) > 0
  onehot <- outer(y, seq_len(K), "==")
  c(macro_auroc = mean(auroc, na.rm = TRUE), hand_till_auc = ht_matrix(y, P),
    macro_auprc = mean(auprc, na.rm = TRUE), macro_f1 = mean(f1[used]), accuracy = sum(tp) / length(y),
    mcc = gorodkin_mcc(cm), brier = mean(rowSums((P - onehot)^2)), auroc, auprc, ifelse(used, f1, NA_real_))
}

mc_metric_labels <- function(classes) {
  overall <- c("macro_auroc", "hand_till_auc", "macro_auprc", "macro_f1", "accuracy", "mcc", "brier")
  data.frame(metric = c(overall, rep(c("auroc", "auprc", "f1"), each = length(classes))),
             class = c(rep(NA_character_, length(overall)), rep(classes, 3)), stringsAsFactors = FALSE)
}

mc_table <- function(y, pred, K) {
  matrix(tabulate((y - 1) * K + pred, K * K), K, K, byrow = TRUE)
}

# Hand & Till over the pairs of classes present in y.
ht_matrix <- function(y, P) {
  present <- sort(unique(y))
  if (length(present) < 2) return(NA_real_)
  pairs <- utils::combn(present, 2)
  mean(apply(pairs, 2, function(p) {
    keep <- y %in% p
    yy <- y[keep]
    (fast_auc(as.integer(yy == p[1]), P[keep, p[1]]) + fast_auc(as.integer(yy == p[2]), P[keep, p[2]])) / 2
  }))
}

# Average precision: sum over distinct thresholds (descending) of recall gain x precision.
average_precision <- function(y, s) {
  o <- order(s, decreasing = TRUE)
  s <- s[o]
  tp <- cumsum(y[o])
  last <- which(c(diff(s) != 0, TRUE))
  precision <- tp[last] / last
  recall <- tp[last] / sum(y)
  sum(diff(c(0, recall)) * precision)
}

# Gorodkin (2004): (c s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)).
gorodkin_mcc <- function(cm) {
  s <- sum(cm)
  t <- rowSums(cm)
  p <- colSums(cm)
  den <- sqrt((s^2 - sum(p^2)) * (s^2 - sum(t^2)))
  if (den == 0) return(0)
  (sum(diag(cm)) * s - sum(p * t)) / den
}

# Point estimates and percentile intervals of stat(y, P) over B group resamples.
mc_bootstrap <- function(mc, B, seed, conf_level, stat) {
  check_conf_level(conf_level)
  if (!is.numeric(B) || length(B) != 1 || B < 0 || B != round(B)) stop_user("B must be a whole number >= 0")
  est <- stat(mc$y, mc$P)
  lower <- upper <- rep(NA_real_, length(est))
  n_boot <- rep(0L, length(est))
  if (B > 0) {
    if (!is.null(seed)) set.seed(seed)
    G <- length(mc$idx)
    reps <- vapply(seq_len(B), function(b) {
      rows <- unlist(mc$idx[sample.int(G, G, replace = TRUE)], use.names = FALSE)
      stat(mc$y[rows], mc$P[rows, , drop = FALSE])
    }, numeric(length(est)))
    reps <- matrix(reps, nrow = length(est))
    a <- (1 - conf_level) / 2
    for (i in seq_along(est)) {
      v <- reps[i, ][is.finite(reps[i, ])]
      n_boot[i] <- length(v)
      if (length(v)) {
        q <- stats::quantile(v, c(a, 1 - a), names = FALSE, type = 7)
        lower[i] <- q[1]
        upper[i] <- q[2]
      }
    }
  }
  data.frame(estimate = unname(est), lower = lower, upper = upper, n_boot = n_boot)
}

mc_confusion_table <- function(mc, B = 0, seed = NULL, conf_level = 0.95, boot_n = B) {
  K <- length(mc$classes)
  share <- function(y, P) {
    cm <- mc_table(y, max.col(P, ties.method = "first"), K)
    as.vector(t(cm / rowSums(cm)))
  }
  boot <- mc_bootstrap(mc, boot_n, seed, conf_level, share)
  cm <- mc_table(mc$y, max.col(mc$P, ties.method = "first"), K)
  out <- data.frame(truth = rep(mc$classes, each = K), predicted = rep(mc$classes, K), n = as.vector(t(cm)),
                    proportion = boot$estimate, lower = boot$lower, upper = boot$upper, n_boot = boot$n_boot,
                    stringsAsFactors = FALSE)
  new_result(out, "spinedlr_confusion", classes = mc$classes)
}

# Outcome and probabilities of every row, for per-class ROC curves.
mc_curves <- function(mc) {
  colnames(mc$P) <- mc$classes
  list(y = mc$classes[mc$y], P = mc$P)
}
