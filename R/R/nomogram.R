#' Nomogram of a logistic model (rms::nomogram), as a points table
#'
#' A thin wrapper of `rms::nomogram()` for an `rms::lrm` fit of the outcome on the
#' predictors (Radscore plus clinical factors): each predictor value gets points, the
#' predictor with the widest effect spanning 0 to `maxscale` points, and a patient's total
#' points map to the predicted risk through
#' \eqn{risk = plogis(intercept + total / scale)}, the line `rms::nomogram` draws. The fit is
#' made with a `rms::datadist` of `data` set only for the call, so the global options are
#' left alone. Numeric predictors enter linearly; factors with their levels.
#'
#' @param data data.frame.
#' @param formula `outcome ~ predictor + ...`: the outcome and the predictor columns.
#' @param outcome name of the 0/1 outcome column.
#' @param predictors names of the predictor columns.
#' @param fun_at risks at which to mark the risk axis (default: rms's choice).
#' @param maxscale points of the predictor with the widest effect.
#' @param ... for the formula method, further arguments of the default method.
#' @return data.frame of class `spinedlr_nomogram`, one row per tick of each axis: axis
#'   (predictor name, or "Risk"), kind ("predictor" or "risk"), value (the predictor value or
#'   risk, as text), points (points of the predictor value; for the risk axis, the total
#'   points at which that risk is reached). Attributes: `scale` and `intercept` (the
#'   total-points-to-risk line), `fit` (the `lrm` fit) and `nomogram` (the rms object,
#'   drawn by `plot()`). [nomogram_score()] gives each patient's total points and risk.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' nm <- nomogram(d, "poor", c("s100b", "age", "gender"))
#' nm
#' head(nomogram_score(nm, d))
#' plot(nm)
#' # the same nomogram from a formula
#' all.equal(nomogram(poor ~ s100b + age + gender, d)$points, nm$points)
#' @export
nomogram <- function(data, ...) UseMethod("nomogram")

#' @rdname nomogram
#' @export
nomogram.formula <- function(formula, data, ...) {
  f <- formula_columns(formula, data)
  nomogram.default(data, f$outcome, f$rhs, ...)
}

#' @rdname nomogram
#' @export
nomogram.default <- function(data, outcome, predictors, fun_at = NULL, maxscale = 100, ...) {
  check_data(data, c(outcome, predictors))
  y <- check_outcome(data[[outcome]], outcome)
  d <- data[predictors]
  for (p in predictors) {
    if (anyNA(d[[p]])) stop_user("predictor '%s' has missing values", p)
    if (is.character(d[[p]])) d[[p]] <- factor(d[[p]])
  }
  d$.outcome <- y
  old <- options(datadist = rms::datadist(d[predictors]))
  on.exit(options(old), add = TRUE)
  fit <- rms::lrm(stats::reformulate(sprintf("`%s`", predictors), response = ".outcome"), data = d)
  args <- list(fit, fun = stats::plogis, funlabel = "Risk", maxscale = maxscale)
  if (!is.null(fun_at)) args$fun.at <- fun_at
  nm <- do.call(rms::nomogram, args)
  info <- attr(nm, "info")
  rows <- lapply(predictors, function(p) {
    a <- nm[[p]]
    data.frame(axis = p, kind = "predictor", value = as.character(a[[p]]), points = unname(a$points),
               stringsAsFactors = FALSE)
  })
  rows[[length(rows) + 1]] <- data.frame(axis = "Risk", kind = "risk", value = as.character(nm$Risk$x.real),
                                         points = nm$Risk$x, stringsAsFactors = FALSE)
  new_result(do.call(rbind, rows), "spinedlr_nomogram", scale = info$sc, intercept = unname(info$Intercept),
             fit = fit, nomogram = nm, predictors = predictors)
}

#' Total points and risk of patients on a nomogram
#'
#' Total points are \eqn{(lp - intercept) \times scale}, where \eqn{lp} is the linear
#' predictor of the nomogram's `lrm` fit: the sum of the points the nomogram assigns to the
#' patient's values (exactly, not read off the drawn ticks). The risk is `plogis(lp)`.
#'
#' @param object a result of [nomogram()].
#' @param newdata data.frame with the predictor columns.
#' @return data.frame: total_points, risk.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' nomogram_score(nomogram(d, "poor", c("s100b", "age")), d[1:3, ])
#' @export
nomogram_score <- function(object, newdata) {
  if (!inherits(object, "spinedlr_nomogram")) stop_user("object must be a result of nomogram()")
  predictors <- attr(object, "predictors")
  check_data(newdata, predictors)
  nd <- newdata[predictors]
  for (p in predictors) if (is.character(nd[[p]])) nd[[p]] <- factor(nd[[p]])
  lp <- as.numeric(stats::predict(attr(object, "fit"), newdata = nd, type = "lp"))
  data.frame(total_points = (lp - attr(object, "intercept")) * attr(object, "scale"), risk = stats::plogis(lp))
}
