#' Check a binary outcome vector
#'
#' Every statistic in this package needs a 0/1 outcome with both classes present; failing
#' early with the column name is kinder than a cryptic error deep inside pROC or rms.
#'
#' @param y outcome vector.
#' @param name column name used in the error message.
#' @return `y` as integer 0/1, invisibly.
#' @export
check_outcome <- function(y, name = "outcome") {
  if (anyNA(y)) stop(sprintf("outcome '%s' has %d missing value(s)", name, sum(is.na(y))), call. = FALSE)
  if (is.logical(y)) y <- as.integer(y)
  if (!all(y %in% c(0, 1))) {
    bad <- unique(y[!y %in% c(0, 1)])
    stop(sprintf("outcome '%s' must be 0/1; found %s", name, paste(utils::head(bad, 5), collapse = ", ")), call. = FALSE)
  }
  if (length(unique(y)) < 2) stop(sprintf("outcome '%s' has only one class", name), call. = FALSE)
  invisible(as.integer(y))
}
