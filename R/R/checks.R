#' Check a binary outcome vector
#'
#' Every statistic in this package needs a 0/1 outcome with both classes present; failing
#' early with the column name is kinder than a cryptic error deep inside pROC or rms.
#'
#' @param y outcome vector.
#' @param name column name used in the error message.
#' @return `y` as integer 0/1, invisibly.
#' @examples
#' check_outcome(c(0, 1, 1, 0))
#' try(check_outcome(c(0, 2, 1), "recurrence"))
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

# Internal checks shared by the exported functions. They stop with the column name so that
# the message reaching Python (through rpy2) tells the user what to fix.

stop_user <- function(...) stop(sprintf(...), call. = FALSE)

check_data <- function(data, columns) {
  if (!is.data.frame(data)) stop_user("'data' must be a data.frame")
  if (!is.character(columns) || anyNA(columns)) stop_user("column names must be character strings")
  missing <- setdiff(columns, names(data))
  if (length(missing)) {
    stop_user("column(s) not in data: %s", paste(sprintf("'%s'", missing), collapse = ", "))
  }
  if (nrow(data) == 0) stop_user("data has no rows")
  invisible(TRUE)
}

# A score must be numeric and complete: NaN scores would silently drop patients in pROC.
check_score <- function(x, name) {
  if (is.logical(x)) x <- as.integer(x)
  if (is.ordered(x)) x <- as.integer(x)
  if (!is.numeric(x)) stop_user("score '%s' must be numeric", name)
  bad <- sum(!is.finite(x))
  if (bad) stop_user("score '%s' has %d missing or non-finite value(s) (NA/NaN/Inf)", name, bad)
  as.numeric(x)
}

check_risk <- function(p, name) {
  p <- check_score(p, name)
  if (any(p < 0 | p > 1)) {
    stop_user("'%s' must be a predicted risk in [0, 1]; convert scores with predict_models() first", name)
  }
  p
}

check_conf_level <- function(conf_level) {
  if (!is.numeric(conf_level) || length(conf_level) != 1 || conf_level <= 0 || conf_level >= 1) {
    stop_user("conf_level must be a single number between 0 and 1")
  }
  invisible(TRUE)
}
