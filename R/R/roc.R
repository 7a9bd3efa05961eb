#' ROC summary: AUC with DeLong CI, Youden cut-off and exact-CI diagnostic metrics
#'
#' Higher scores mean higher risk: a patient is "high" when `score >= cutoff`. The cut-off is
#' the pROC threshold maximising Youden's J (sensitivity + specificity - 1); pROC thresholds
#' are midpoints between observed scores, so no patient sits exactly on it. When several
#' thresholds tie for the best J, the lowest is used. Intervals for accuracy, sensitivity,
#' specificity, PPV and NPV are exact (Clopper-Pearson), as in the reference study.
#'
#' @param data data.frame.
#' @param score name of the score column (numeric; negate protective scores first).
#' @param outcome name of the 0/1 outcome column.
#' @param conf_level confidence level.
#' @return one-row data.frame: score, n, n_events, auc, auc_lower, auc_upper (DeLong), cutoff,
#'   youden_j, tp, fp, tn, fn, then accuracy, sensitivity, specificity, ppv, npv each with
#'   `_lower` and `_upper`.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' r <- roc_summary(d, "s100b", "poor")
#' r
#' as.data.frame(r)[, c("auc", "auc_lower", "auc_upper", "cutoff")]
#' @export
roc_summary <- function(data, score, outcome, conf_level = 0.95) {
  check_data(data, c(score, outcome))
  check_conf_level(conf_level)
  y <- check_outcome(data[[outcome]], outcome)
  x <- check_score(data[[score]], score)
  r <- make_roc(y, x)
  ci <- as.numeric(pROC::ci.auc(r, conf.level = conf_level, method = "delong"))
  best <- youden_cutoff(r)
  high <- x >= best
  counts <- c(tp = sum(high & y == 1), fp = sum(high & y == 0), tn = sum(!high & y == 0), fn = sum(!high & y == 1))
  m <- confusion_metrics(counts[["tp"]], counts[["fp"]], counts[["tn"]], counts[["fn"]], conf_level)
  out <- data.frame(
    score = score, n = length(y), n_events = sum(y), auc = ci[2], auc_lower = ci[1], auc_upper = ci[3],
    cutoff = best, youden_j = (counts[["tp"]] / sum(y)) + (counts[["tn"]] / sum(1 - y)) - 1,
    tp = counts[["tp"]], fp = counts[["fp"]], tn = counts[["tn"]], fn = counts[["fn"]],
    stringsAsFactors = FALSE
  )
  new_result(cbind(out, m), "spinedlr_roc", curves = roc_curves(data, score, outcome))
}

#' Diagnostic metrics with exact (Clopper-Pearson) intervals from a 2x2 table
#'
#' @param tp,fp,tn,fn counts of true/false positives and negatives.
#' @param conf_level confidence level.
#' @return one-row data.frame with accuracy, sensitivity, specificity, ppv, npv and their
#'   `_lower`/`_upper` limits (NA where the denominator is zero).
#' @examples
#' confusion_metrics(tp = 26, fp = 16, tn = 56, fn = 15)
#' @export
confusion_metrics <- function(tp, fp, tn, fn, conf_level = 0.95) {
  check_conf_level(conf_level)
  counts <- c(tp, fp, tn, fn)
  if (any(!is.finite(counts)) || any(counts < 0) || any(counts != round(counts))) {
    stop_user("tp, fp, tn and fn must be non-negative whole numbers")
  }
  parts <- list(
    accuracy = c(tp + tn, tp + fp + tn + fn), sensitivity = c(tp, tp + fn),
    specificity = c(tn, tn + fp), ppv = c(tp, tp + fp), npv = c(tn, tn + fn)
  )
  out <- list()
  for (nm in names(parts)) {
    ci <- clopper_pearson(parts[[nm]][1], parts[[nm]][2], conf_level)
    out[[nm]] <- ci[1]
    out[[paste0(nm, "_lower")]] <- ci[2]
    out[[paste0(nm, "_upper")]] <- ci[3]
  }
  as.data.frame(out)
}

clopper_pearson <- function(x, n, conf_level) {
  if (n == 0) return(c(NA_real_, NA_real_, NA_real_))
  a <- (1 - conf_level) / 2
  lower <- if (x == 0) 0 else stats::qbeta(a, x, n - x + 1)
  upper <- if (x == n) 1 else stats::qbeta(1 - a, x + 1, n - x)
  c(x / n, lower, upper)
}

make_roc <- function(y, x) {
  pROC::roc(response = y, predictor = x, levels = c(0, 1), direction = "<", quiet = TRUE)
}

# pROC's "youden" column from coords(..., "best") is sensitivity + specificity (not minus
# one), so the cut-off is chosen here from the plain sensitivity and specificity columns.
youden_cutoff <- function(r) {
  co <- pROC::coords(r, "all", ret = c("threshold", "sensitivity", "specificity"), transpose = FALSE)
  co <- co[is.finite(co$threshold), , drop = FALSE]
  j <- co$sensitivity + co$specificity
  best <- which(j >= max(j) - 1e-12)
  min(co$threshold[best])
}

#' Rank-based AUC (Mann-Whitney), equal to pROC's AUC for direction "<"
#'
#' Ties between an event and a non-event count one half, as in pROC. Used inside bootstrap
#' loops where building a pROC object per resample would dominate the run time.
#'
#' @param y 0/1 outcome.
#' @param x score (higher = more likely event).
#' @return the AUC, a number.
#' @examples
#' y <- c(0, 0, 1, 1, 0, 1)
#' fast_auc(y, c(0.1, 0.4, 0.35, 0.8, 0.2, 0.9))
#' @export
fast_auc <- function(y, x) {
  n1 <- sum(y == 1)
  n0 <- length(y) - n1
  r <- rank(x)
  (sum(r[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
}

#' Paired DeLong test of two AUCs
#'
#' @param data data.frame.
#' @param score1,score2 score column names (higher = more risk).
#' @param outcome 0/1 outcome column.
#' @param conf_level confidence level of the difference.
#' @return one-row data.frame: score1, score2, auc1, auc2, difference (auc1 - auc2),
#'   difference_lower, difference_upper, z, p_value, method.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' compare_auc(d, "s100b", "ndka", "poor")
#' @export
compare_auc <- function(data, score1, score2, outcome, conf_level = 0.95) {
  check_data(data, c(score1, score2, outcome))
  check_conf_level(conf_level)
  y <- check_outcome(data[[outcome]], outcome)
  r1 <- make_roc(y, check_score(data[[score1]], score1))
  r2 <- make_roc(y, check_score(data[[score2]], score2))
  t <- pROC::roc.test(r1, r2, method = "delong", paired = TRUE, conf.level = conf_level)
  est <- as.numeric(t$estimate)
  new_result(data.frame(
    score1 = score1, score2 = score2, auc1 = est[1], auc2 = est[2], difference = est[1] - est[2],
    difference_lower = t$conf.int[1], difference_upper = t$conf.int[2],
    z = unname(t$statistic), p_value = t$p.value, method = "paired DeLong", stringsAsFactors = FALSE
  ), "spinedlr_auc_test")
}

#' Partial AUC (pROC definition, optionally McClish-corrected)
#'
#' @param data data.frame.
#' @param score score column (higher = more risk).
#' @param outcome 0/1 outcome column.
#' @param range the interval of specificity (or sensitivity) over which to integrate.
#' @param focus "specificity" or "sensitivity".
#' @param correct McClish correction (0.5 = chance, 1 = perfect within the range).
#' @return one-row data.frame: score, focus, range_from, range_to, correct, pauc.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' partial_auc(d, "s100b", "poor", range = c(1, 0.8))
#' partial_auc(d, "s100b", "poor", range = c(1, 0.8), correct = TRUE)
#' @export
partial_auc <- function(data, score, outcome, range = c(1, 0.8), focus = "specificity", correct = FALSE) {
  check_data(data, c(score, outcome))
  check_pauc_args(range, focus)
  y <- check_outcome(data[[outcome]], outcome)
  x <- check_score(data[[score]], score)
  r <- make_roc(y, x)
  value <- as.numeric(pROC::auc(r, partial.auc = range, partial.auc.focus = focus, partial.auc.correct = correct))
  new_result(data.frame(score = score, focus = focus, range_from = range[1], range_to = range[2], correct = correct,
             pauc = value, stringsAsFactors = FALSE), "spinedlr_pauc", curves = roc_curves(data, score, outcome))
}

check_pauc_args <- function(range, focus) {
  if (!is.numeric(range) || length(range) != 2 || any(range < 0 | range > 1) || range[1] == range[2]) {
    stop_user("range must be two different numbers in [0, 1], e.g. c(1, 0.8)")
  }
  if (!is.character(focus) || length(focus) != 1 || !focus %in% c("specificity", "sensitivity")) {
    stop_user("focus must be \"specificity\" or \"sensitivity\"")
  }
  invisible(TRUE)
}

#' Fast partial AUC, equal to pROC::auc(..., partial.auc) for direction "<"
#'
#' Integrates the empirical ROC curve (with its diagonal segments at ties) over the range,
#' interpolating linearly at the range limits as pROC does. Used in the bootstrap of
#' [compare_partial_auc()], where 2,000 pROC objects per curve would be slow.
#'
#' @param y 0/1 outcome.
#' @param x score.
#' @param range,focus,correct as in [partial_auc()].
#' @return the partial AUC, a number.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' fast_partial_auc(d$poor, d$s100b, range = c(1, 0.8))
#' @export
fast_partial_auc <- function(y, x, range = c(1, 0.8), focus = "specificity", correct = FALSE) {
  v <- sort(unique(x))
  pos <- match(x, v)
  cases <- which(y == 1)
  controls <- which(y == 0)
  pauc_counts(tabulate(pos[cases], length(v)), tabulate(pos[controls], length(v)), length(cases), length(controls),
              range, focus, correct)
}

# The partial AUC of one or more ROC curves given, per column, how many cases and controls
# sit at each distinct score value (rows in increasing score order). A bootstrap resample only
# changes these counts, so 2,000 resamples are one matrix computation instead of 2,000 sorts.
pauc_counts <- function(case_counts, control_counts, n1, n0, range, focus, correct) {
  case_counts <- as.matrix(case_counts)
  control_counts <- as.matrix(control_counts)
  nv <- nrow(case_counts)
  below <- function(counts) {
    cs <- matrix(cumsum(as.vector(counts)), nv)
    cs <- cs - rep(c(0, cs[nv, -ncol(cs)]), each = nv)
    cs - counts
  }
  sens <- rbind(1 - below(case_counts) / n1, 0)
  spec <- rbind(below(control_counts) / n0, 1)
  if (focus == "specificity") {
    u <- spec
    h <- sens
  } else {
    u <- sens[rev(seq_len(nv + 1)), , drop = FALSE]
    h <- spec[rev(seq_len(nv + 1)), , drop = FALSE]
  }
  lo <- min(range)
  hi <- max(range)
  u1 <- u[-(nv + 1), , drop = FALSE]
  u2 <- u[-1, , drop = FALSE]
  h1 <- h[-(nv + 1), , drop = FALSE]
  h2 <- h[-1, , drop = FALSE]
  a <- pmax(u1, lo)
  b <- pmin(u2, hi)
  keep <- b > a
  slope <- (h2 - h1) / (u2 - u1)
  terms <- (b - a) * (2 * h1 + slope * (a - u1 + b - u1)) / 2
  terms[!keep] <- 0
  area <- colSums(terms)
  if (correct) {
    mn <- (hi - lo) - (hi^2 - lo^2) / 2
    mx <- hi - lo
    area <- (1 + (area - mn) / (mx - mn)) / 2
  }
  area
}

# Partial AUCs of score x on `boot_n` stratified resamples (columns of the index matrices).
pauc_boot <- function(x, idx_cases, idx_controls, range, focus, correct) {
  v <- sort(unique(x))
  nv <- length(v)
  pos <- match(x, v)
  B <- ncol(idx_cases)
  shift <- rep((seq_len(B) - 1) * nv, each = nrow(idx_cases))
  cc <- matrix(tabulate(pos[idx_cases] + shift, nv * B), nv)
  shift <- rep((seq_len(B) - 1) * nv, each = nrow(idx_controls))
  kc <- matrix(tabulate(pos[idx_controls] + shift, nv * B), nv)
  pauc_counts(cc, kc, nrow(idx_cases), nrow(idx_controls), range, focus, correct)
}

#' Compare two partial AUCs by a paired stratified bootstrap
#'
#' pROC has no DeLong test for partial AUCs (it silently switches to bootstrap, or fails when
#' DeLong is forced), so this function says what it does: patients are resampled with
#' replacement within events and within non-events, both partial AUCs are recomputed on each
#' resample, and D = (pauc1 - pauc2) / sd(bootstrap differences) is referred to a standard
#' normal, as in pROC's bootstrap test.
#'
#' @inheritParams partial_auc
#' @param score1,score2 score columns.
#' @param boot_n number of bootstrap resamples.
#' @param seed random seed (NULL leaves the RNG state alone).
#' @param conf_level level of the percentile interval of the difference.
#' @return one-row data.frame: score1, score2, focus, range_from, range_to, correct, pauc1,
#'   pauc2, difference, difference_lower, difference_upper (percentile), d, p_value, boot_n,
#'   method.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' compare_partial_auc(d, "s100b", "ndka", "poor", boot_n = 200, seed = 1)
#' @export
compare_partial_auc <- function(data, score1, score2, outcome, range = c(1, 0.8), focus = "specificity",
                                correct = FALSE, boot_n = 2000, seed = NULL, conf_level = 0.95) {
  check_data(data, c(score1, score2, outcome))
  check_pauc_args(range, focus)
  check_conf_level(conf_level)
  if (!is.numeric(boot_n) || boot_n < 10) stop_user("boot_n must be at least 10")
  y <- check_outcome(data[[outcome]], outcome)
  x1 <- check_score(data[[score1]], score1)
  x2 <- check_score(data[[score2]], score2)
  if (!is.null(seed)) set.seed(seed)
  p1 <- fast_partial_auc(y, x1, range, focus, correct)
  p2 <- fast_partial_auc(y, x2, range, focus, correct)
  cases <- which(y == 1)
  controls <- which(y == 0)
  idx_cases <- matrix(cases[sample.int(length(cases), length(cases) * boot_n, replace = TRUE)], length(cases))
  idx_controls <- matrix(controls[sample.int(length(controls), length(controls) * boot_n, replace = TRUE)], length(controls))
  diffs <- pauc_boot(x1, idx_cases, idx_controls, range, focus, correct) -
    pauc_boot(x2, idx_cases, idx_controls, range, focus, correct)
  d <- (p1 - p2) / stats::sd(diffs)
  a <- (1 - conf_level) / 2
  q <- stats::quantile(diffs, c(a, 1 - a), names = FALSE)
  new_result(data.frame(
    score1 = score1, score2 = score2, focus = focus, range_from = range[1], range_to = range[2],
    correct = correct, pauc1 = p1, pauc2 = p2, difference = p1 - p2, difference_lower = q[1],
    difference_upper = q[2], d = d, p_value = 2 * stats::pnorm(-abs(d)), boot_n = as.integer(boot_n),
    method = sprintf("paired stratified bootstrap (%d resamples); DeLong is not defined for partial AUC", as.integer(boot_n)),
    stringsAsFactors = FALSE
  ), "spinedlr_auc_test")
}
