# Model against human raters (surgeons' predictions of a binary outcome): agreement between
# raters, and each reader's diagnostic metrics on the same rows.

#' Cohen's kappa between two raters, with a large-sample confidence interval
#'
#' \eqn{\kappa = (p_o - p_e)/(1 - p_e)} from the two raters' cross-table (categories: the
#' union of both raters' values). The interval is \eqn{\kappa \pm z \cdot SE} with the
#' large-sample variance of Fleiss, Cohen & Everitt (1969), clipped to \eqn{[-1, 1]}: the
#' interval `psych::cohen.kappa` reports.
#'
#' @param data data.frame with one row per patient.
#' @param rater1,rater2 names of the two raters' columns (e.g. 0/1 predictions).
#' @param conf_level confidence level.
#' @return one-row data.frame of class `spinedlr_kappa`: rater1, rater2, n, agreement
#'   (\eqn{p_o}), expected (\eqn{p_e}), kappa, se, kappa_lower, kappa_upper.
#' @examples
#' d <- data.frame(a = c(1, 1, 0, 0, 1, 0, 1, 0, 1, 1), b = c(1, 0, 0, 0, 1, 0, 1, 1, 1, 1))
#' cohen_kappa(d, "a", "b")
#' @export
cohen_kappa <- function(data, rater1, rater2, conf_level = 0.95) {
  check_data(data, c(rater1, rater2))
  check_conf_level(conf_level)
  a <- data[[rater1]]
  b <- data[[rater2]]
  if (anyNA(a) || anyNA(b)) stop_user("raters '%s' and '%s' must have no missing values", rater1, rater2)
  lev <- sort(unique(c(as.character(a), as.character(b))))
  if (length(lev) < 2) stop_user("the raters used a single category; kappa is undefined")
  n <- length(a)
  x <- unclass(table(factor(as.character(a), lev), factor(as.character(b), lev))) / n
  r <- rowSums(x)
  cc <- colSums(x)
  po <- sum(diag(x))
  pe <- sum(r * cc)
  kappa <- (po - pe) / (1 - pe)
  # Fleiss, Cohen & Everitt (1969): diagonal, off-diagonal and centring terms.
  diag_term <- sum(diag(x) * (1 - (r + cc) * (1 - kappa))^2)
  off <- outer(cc, r, "+")^2 * x
  off_term <- (1 - kappa)^2 * (sum(off) - sum(diag(off)))
  var <- (diag_term + off_term - (kappa - pe * (1 - kappa))^2) / (n * (1 - pe)^2)
  se <- sqrt(max(var, 0))
  z <- stats::qnorm(1 - (1 - conf_level) / 2)
  new_result(data.frame(rater1 = rater1, rater2 = rater2, n = n, agreement = po, expected = pe, kappa = kappa,
                        se = se, kappa_lower = max(-1, kappa - z * se), kappa_upper = min(1, kappa + z * se),
                        stringsAsFactors = FALSE), "spinedlr_kappa")
}

#' Model against raters: diagnostic metrics with exact intervals on the same rows
#'
#' The model calls a row positive when `score >= threshold`; each rater's column holds 0/1
#' predictions. For every reader: accuracy, sensitivity, specificity, PPV and NPV with exact
#' (Clopper-Pearson) intervals as [confusion_metrics()]; F1 \eqn{= 2J/(1+J)} with
#' \eqn{J = TP/(TP+FP+FN)}, its interval the Clopper-Pearson interval of \eqn{J} (a binomial
#' proportion given the TP+FP+FN rows) mapped through that increasing function; and for each
#' rater McNemar's exact test of paired accuracy against the model (binomial test on the rows
#' where exactly one of the two is correct).
#'
#' @param data data.frame, one row per patient (test cohort).
#' @param outcome name of the 0/1 outcome column.
#' @param score name of the model's score column (predicted risk).
#' @param threshold the model's positive threshold (`score >= threshold`).
#' @param raters names of the raters' 0/1 prediction columns.
#' @param conf_level confidence level.
#' @return data.frame of class `spinedlr_raters`, one row per reader (the model first):
#'   reader, kind ("model"/"rater"), n, tp, fp, tn, fn, accuracy, sensitivity, specificity,
#'   ppv, npv, f1 each with `_lower` and `_upper`, and mcnemar_p (NA for the model).
#' @examples
#' set.seed(2)
#' d <- data.frame(y = rep(0:1, each = 20))
#' d$risk <- plogis(2 * d$y - 1 + rnorm(40))
#' d$surgeon_a <- ifelse(runif(40) < 0.8, d$y, 1 - d$y)
#' d$surgeon_b <- ifelse(runif(40) < 0.7, d$y, 1 - d$y)
#' rater_comparison(d, "y", "risk", 0.5, c("surgeon_a", "surgeon_b"))
#' @export
rater_comparison <- function(data, outcome, score, threshold, raters, conf_level = 0.95) {
  check_data(data, c(outcome, score, raters))
  check_conf_level(conf_level)
  if (!is.numeric(threshold) || length(threshold) != 1 || !is.finite(threshold)) {
    stop_user("threshold must be one finite number")
  }
  y <- check_outcome(data[[outcome]], outcome)
  calls <- list(as.integer(check_score(data[[score]], score) >= threshold))
  for (r in raters) calls[[length(calls) + 1]] <- check_outcome_values(data[[r]], r)
  names(calls) <- c(score, raters)
  model_right <- calls[[1]] == y
  rows <- lapply(seq_along(calls), function(i) {
    pred <- calls[[i]]
    tp <- sum(pred == 1 & y == 1)
    fp <- sum(pred == 1 & y == 0)
    tn <- sum(pred == 0 & y == 0)
    fn <- sum(pred == 0 & y == 1)
    m <- confusion_metrics(tp, fp, tn, fn, conf_level)
    j <- clopper_pearson(tp, tp + fp + fn, conf_level)
    f1 <- 2 * j / (1 + j)
    p <- NA_real_
    if (i > 1) {
      right <- pred == y
      b <- sum(model_right & !right)
      c <- sum(!model_right & right)
      p <- if (b + c == 0) 1 else stats::binom.test(b, b + c)$p.value
    }
    cbind(data.frame(reader = names(calls)[i], kind = if (i == 1) "model" else "rater", n = length(y),
                     tp = tp, fp = fp, tn = tn, fn = fn, stringsAsFactors = FALSE),
          m, f1 = f1[1], f1_lower = f1[2], f1_upper = f1[3], mcnemar_p = p)
  })
  new_result(do.call(rbind, rows), "spinedlr_raters", threshold = threshold)
}

# A rater's calls must be 0/1 (both classes need not occur).
check_outcome_values <- function(x, name) {
  if (is.logical(x)) x <- as.integer(x)
  if (anyNA(x) || !all(x %in% c(0, 1))) stop_user("rater '%s' must hold 0/1 predictions with no missing values", name)
  as.integer(x)
}
