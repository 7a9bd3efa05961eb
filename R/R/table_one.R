#' Table 1: patient characteristics by group
#'
#' Numeric variables: mean +/- SD, Student's t-test (equal variances, as the reference study's
#' t values show), t = first group minus second. Factor, character and logical variables:
#' n (%) per level, Pearson's chi-squared test without continuity correction, or Fisher's
#' exact test when expected counts are small: with `fisher = "any_below_5"` when any expected
#' count is below 5; with `fisher = "cochran"` (Cochran's rule) when any expected count is
#' below 1 or more than 20% are below 5 -- the rule that reproduces every test of the
#' reference study's Table 1.
#'
#' @param data data.frame.
#' @param group grouping column (two or more groups; t-tests need exactly two).
#' @param variables columns to describe.
#' @param digits decimals in the formatted cells.
#' @param fisher when to use Fisher's exact test instead of chi-squared: "any_below_5" or
#'   "cochran".
#' @return data.frame: variable, level (NA for numeric variables), type ("continuous" or
#'   "categorical"), total, one column `group_<level>` per group, test ("t", "chisq",
#'   "fisher"), statistic (NA for Fisher), p_value. Cells are formatted strings
#'   ("58.44 ± 14.38", "72 (42.35)"); test columns are on the variable's first row.
#' @examples
#' d <- pROC::aSAH
#' table_one(d, "outcome", c("age", "gender", "s100b"))
#' @export
table_one <- function(data, group, variables, digits = 2, fisher = "any_below_5") {
  check_data(data, c(group, variables))
  if (!is.character(fisher) || length(fisher) != 1 || !fisher %in% c("any_below_5", "cochran")) {
    stop_user("fisher must be \"any_below_5\" or \"cochran\"")
  }
  gr <- data[[group]]
  if (anyNA(gr)) stop_user("group '%s' has %d missing value(s)", group, sum(is.na(gr)))
  gr <- if (is.factor(gr)) droplevels(gr) else factor(gr)
  if (nlevels(gr) < 2) stop_user("group '%s' has only one level", group)
  gcols <- paste0("group_", levels(gr))
  fmt <- function(x) formatC(x, format = "f", digits = digits)
  out <- list()
  for (v in variables) {
    x <- data[[v]]
    if (anyNA(x)) stop_user("variable '%s' has %d missing value(s)", v, sum(is.na(x)))
    if (is.numeric(x) && !is.factor(x)) {
      if (nlevels(gr) != 2) stop_user("t-test for '%s' needs exactly two groups", v)
      cell <- function(z) paste0(fmt(mean(z)), " \u00b1 ", fmt(stats::sd(z)))
      t <- stats::t.test(x[gr == levels(gr)[1]], x[gr == levels(gr)[2]], var.equal = TRUE)
      row <- data.frame(variable = v, level = NA_character_, type = "continuous", total = cell(x), stringsAsFactors = FALSE)
      for (i in seq_along(gcols)) row[[gcols[i]]] <- cell(x[gr == levels(gr)[i]])
      row$test <- "t"
      row$statistic <- unname(t$statistic)
      row$p_value <- t$p.value
      out[[length(out) + 1]] <- row
    } else {
      f <- if (is.factor(x)) droplevels(x) else factor(x)
      tab <- table(f, gr)
      if (nrow(tab) < 2) stop_user("variable '%s' has only one level", v)
      expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
      small <- if (fisher == "cochran") any(expected < 1) || mean(expected < 5) > 0.2 else any(expected < 5)
      if (small) {
        test <- "fisher"
        stat <- NA_real_
        p <- stats::fisher.test(tab, workspace = 2e7)$p.value
      } else {
        test <- "chisq"
        ct <- suppressWarnings(stats::chisq.test(tab, correct = FALSE))
        stat <- unname(ct$statistic)
        p <- ct$p.value
      }
      pct <- function(counts) paste0(counts, " (", fmt(100 * counts / sum(counts)), ")")
      rows <- data.frame(variable = v, level = rownames(tab), type = "categorical", total = pct(rowSums(tab)),
                         stringsAsFactors = FALSE)
      for (i in seq_along(gcols)) rows[[gcols[i]]] <- pct(tab[, i])
      rows$test <- c(test, rep(NA_character_, nrow(tab) - 1))
      rows$statistic <- c(stat, rep(NA_real_, nrow(tab) - 1))
      rows$p_value <- c(p, rep(NA_real_, nrow(tab) - 1))
      out[[length(out) + 1]] <- rows
    }
  }
  res <- do.call(rbind, out)
  rownames(res) <- NULL
  new_result(res, "spinedlr_table_one")
}
