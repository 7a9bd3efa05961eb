# print() methods: a short readable table in the conventions of clinical papers (estimate
# with its interval, P to three decimals or "<0.001"), then a hint that the full columns are
# in as.data.frame(). When a result has been cut down to other columns, the plain
# data.frame print is used instead.

fmt_num <- function(x, digits = 3) {
  ifelse(is.na(x), "", formatC(x, format = "f", digits = digits))
}

fmt_ci <- function(est, lower, upper, digits = 3) {
  ifelse(is.na(lower) | is.na(upper), fmt_num(est, digits),
         sprintf("%s (%s, %s)", fmt_num(est, digits), fmt_num(lower, digits), fmt_num(upper, digits)))
}

fmt_p <- function(p) {
  ifelse(is.na(p), "", ifelse(p < 0.001, "<0.001", formatC(p, format = "f", digits = 3)))
}

# Print a table of formatted columns under a title, or fall back to the data.frame print.
print_table <- function(x, needs, title, make) {
  if (!all(needs %in% names(x)) || nrow(x) == 0) {
    print(as.data.frame(x))
    return(invisible(x))
  }
  cat(title, "\n", sep = "")
  print(make(x), row.names = FALSE, right = FALSE)
  cat("(all columns: as.data.frame(x))\n")
  invisible(x)
}

#' Print spinedlr results
#'
#' Each result prints as a short table with estimates, intervals and P values formatted as
#' in a clinical paper; `as.data.frame(x)` gives every column unformatted.
#'
#' @param x a result of a spinedlr function.
#' @param ... ignored.
#' @return `x`, invisibly.
#' @examples
#' d <- data.frame(y = c(0, 0, 1, 1, 0, 1, 0, 1), s = c(1, 2, 3, 4, 3.5, 2.5, 0.5, 5))
#' roc_summary(d, "s", "y")
#' @name print.spinedlr_result
NULL

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_roc <- function(x, ...) {
  print_table(x, c("score", "n", "n_events", "auc", "auc_lower", "auc_upper", "cutoff", "sensitivity",
                   "sensitivity_lower", "sensitivity_upper", "specificity", "specificity_lower",
                   "specificity_upper"),
              "ROC summary: AUC (DeLong CI), Youden cut-off, sensitivity and specificity (exact CI)", function(x) {
    data.frame(score = x$score, n = x$n, events = x$n_events,
               AUC = fmt_ci(x$auc, x$auc_lower, x$auc_upper), cutoff = fmt_num(x$cutoff),
               sensitivity = fmt_ci(x$sensitivity, x$sensitivity_lower, x$sensitivity_upper),
               specificity = fmt_ci(x$specificity, x$specificity_lower, x$specificity_upper),
               check.names = FALSE)
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_pauc <- function(x, ...) {
  print_table(x, c("score", "focus", "range_from", "range_to", "correct", "pauc"), "Partial AUC", function(x) {
    data.frame(score = x$score, over = sprintf("%s %s to %s", x$focus, fmt_num(x$range_from, 2), fmt_num(x$range_to, 2)),
               McClish = ifelse(x$correct, "corrected", "no"), pAUC = fmt_num(x$pauc))
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_auc_test <- function(x, ...) {
  est <- if ("auc1" %in% names(x)) c("auc1", "auc2") else c("pauc1", "pauc2")
  print_table(x, c("score1", "score2", est, "difference", "difference_lower", "difference_upper", "p_value", "method"),
              sprintf("Comparison of %s", if (est[1] == "auc1") "AUCs" else "partial AUCs"), function(x) {
    data.frame(comparison = paste(x$score1, "vs", x$score2), first = fmt_num(x[[est[1]]]), second = fmt_num(x[[est[2]]]),
               difference = fmt_ci(x$difference, x$difference_lower, x$difference_upper), P = fmt_p(x$p_value),
               method = x$method)
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_models <- function(x, ...) {
  print_table(x, c("score", "model", "term", "or", "or_lower", "or_upper", "p_value", "n", "n_events", "auc"),
              "Logistic models: odds ratios (profile-likelihood CI), Wald P", function(x) {
    keep <- x$term != "intercept"
    data.frame(score = x$score[keep], model = x$model[keep], term = x$term[keep],
               OR = fmt_ci(x$or, x$or_lower, x$or_upper, 2)[keep], P = fmt_p(x$p_value)[keep],
               n = x$n[keep], events = x$n_events[keep], AUC = fmt_num(x$auc)[keep])
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_validation <- function(x, ...) {
  print_table(x, c("score", "model", "method", "statistic", "estimate", "lower", "upper", "n_resamples", "n_failed"),
              "Internal validation", function(x) {
    data.frame(score = x$score, model = x$model, method = x$method, statistic = x$statistic,
               estimate = fmt_ci(x$estimate, x$lower, x$upper), resamples = x$n_resamples, failed = x$n_failed)
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_calibration <- function(x, ...) {
  print_table(x, c("score", "model", "predicted", "mean_absolute_error", "n_resamples"),
              "Bootstrap-corrected calibration (rms::calibrate algorithm)", function(x) {
    key <- paste(x$score, x$model)
    first <- !duplicated(key)
    data.frame(score = x$score[first], model = x$model[first],
               risks = sprintf("%s to %s", fmt_num(tapply(x$predicted, key, min)[key[first]]),
                               fmt_num(tapply(x$predicted, key, max)[key[first]])),
               mean_absolute_error = fmt_num(x$mean_absolute_error[first], 4),
               resamples = tapply(x$n_resamples, key, max)[key[first]])
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_hosmer_lemeshow <- function(x, ...) {
  print_table(x, c("statistic", "df", "p_value", "groups"), "Hosmer-Lemeshow test", function(x) {
    data.frame(chi_squared = fmt_num(x$statistic), df = x$df, P = fmt_p(x$p_value), groups = x$groups)
  })
}

# Curves print at the thresholds a reader looks at (5% to 50% in steps of 5%, or those present).
curve_rows <- function(threshold) {
  at <- seq(0.05, 0.5, by = 0.05)
  hit <- vapply(threshold, function(t) any(abs(t - at) < 1e-9), logical(1))
  if (any(hit)) hit else rep(TRUE, length(threshold))
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_decision_curve <- function(x, ...) {
  print_table(x, c("model", "threshold", "net_benefit"), "Net benefit by risk threshold", function(x) {
    x <- x[curve_rows(x$threshold), , drop = FALSE]
    models <- unique(x$model)
    wide <- data.frame(threshold = fmt_num(sort(unique(x$threshold)), 2))
    for (m in models) {
      sub <- x[x$model == m, , drop = FALSE]
      wide[[m]] <- fmt_num(sub$net_benefit[order(sub$threshold)])
    }
    wide
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_clinical_impact <- function(x, ...) {
  print_table(x, c("score", "threshold", "population", "n_high_risk", "n_high_risk_with_event"),
              "Clinical impact per population", function(x) {
    x <- x[curve_rows(x$threshold), , drop = FALSE]
    data.frame(score = x$score, threshold = fmt_num(x$threshold, 2), population = x$population,
               high_risk = round(x$n_high_risk), high_risk_with_event = round(x$n_high_risk_with_event))
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_interaction <- function(x, ...) {
  print_table(x, c("model", "group", "n", "n_events", "or", "or_lower", "or_upper", "p_value"),
              "Interaction groups (score A / score B; reference High/High)", function(x) {
    data.frame(model = x$model, group = x$group, n = x$n, events = x$n_events,
               OR = ifelse(x$reference, "1 (reference)", fmt_ci(x$or, x$or_lower, x$or_upper, 2)), P = fmt_p(x$p_value))
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_table_one <- function(x, ...) {
  print_table(x, c("variable", "level", "total", "test", "p_value"), "Table 1", function(x) {
    out <- as.data.frame(x)
    out$level[is.na(out$level)] <- ""
    out$test[is.na(out$test)] <- ""
    out$statistic <- fmt_num(out$statistic)
    out$p_value <- fmt_p(out$p_value)
    out$type <- NULL
    out
  })
}
