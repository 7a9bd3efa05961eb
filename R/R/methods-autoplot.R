# ggplot2 autoplot() methods (ggplot2 is suggested, so the methods are registered when it is
# loaded). Each plot is the one a radiomics paper shows for that result: the ROC curve with
# a bootstrap confidence band, the partial-AUC region, the bootstrap-corrected calibration
# curve over a histogram of predicted risks, decision and clinical impact curves, and
# forest plots of odds ratios.

#' @importFrom utils globalVariables
utils::globalVariables(".data")

# The scores of every patient kept by roc_summary()/partial_auc() for drawing.
curve_data <- function(object) {
  curves <- attr(object, "curves")
  if (is.null(curves) || !all(object$score %in% curves$score)) {
    stop_user("this result carries no patient-level scores to draw; make it with roc_summary() or partial_auc()")
  }
  curves
}

# The empirical ROC path from (0, 0) to (1, 1), both axes non-decreasing along it.
roc_path <- function(curves, score) {
  cd <- curves[curves$score == score, , drop = FALSE]
  r <- make_roc(cd$outcome, cd$value)
  list(roc = r, path = data.frame(score = score, fpr = rev(1 - r$specificities), tpr = rev(r$sensitivities)))
}

# The part of a path (u non-decreasing) with lo <= u <= hi, with points added where it
# crosses lo and hi.
clip_path <- function(u, h, lo, hi) {
  pts <- data.frame(u = u, h = h, ord = seq_along(u))
  for (edge in c(lo, hi)) {
    i <- which(utils::head(u, -1) < edge & utils::tail(u, -1) > edge)
    if (length(i)) {
      i <- i[1]
      t <- (edge - u[i]) / (u[i + 1] - u[i])
      pts <- rbind(pts, data.frame(u = edge, h = h[i] + t * (h[i + 1] - h[i]), ord = i + 0.5))
    }
  }
  pts <- pts[order(pts$ord), , drop = FALSE]
  pts[pts$u >= lo & pts$u <= hi, c("u", "h")]
}

roc_axes <- function(p) {
  p + ggplot2::geom_abline(intercept = 0, slope = 1, linetype = "dotted", colour = "grey50") +
    ggplot2::coord_equal(xlim = c(0, 1), ylim = c(0, 1), expand = FALSE) +
    ggplot2::labs(x = "1 - specificity", y = "Sensitivity", colour = NULL, fill = NULL) +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom")
}

#' Plot spinedlr results with ggplot2
#'
#' * ROC summary ([roc_summary()]): the empirical ROC curve of each score with a stratified
#'   bootstrap confidence band of sensitivity at fixed specificities (`pROC::ci.se`), and the
#'   Youden cut-off as a point.
#' * Partial AUC ([partial_auc()]): the ROC curve with the integrated region shaded.
#' * Calibration ([calibration()]): apparent and bootstrap-corrected curves against the
#'   ideal line, over a histogram of the patients' predicted risks.
#' * Decision curve ([decision_curve()]): net benefit of each model, treat-all and
#'   treat-none.
#' * Clinical impact ([clinical_impact()]): number classified high risk, and of those with the
#'   event, out of the notional population.
#' * Models ([fit_models()]), interaction groups ([interaction_groups()]) and clinical-factor
#'   selection ([clinical_selection()], univariable and multivariable panels): forest plots
#'   of odds ratios with their intervals on a log scale.
#'
#' @param object a result of a spinedlr function.
#' @param boot_n bootstrap resamples for the ROC confidence band.
#' @param conf_level level of the ROC confidence band.
#' @param seed random seed for the band (NULL leaves the RNG alone).
#' @param ... ignored.
#' @return a ggplot object.
#' @examples
#' if (requireNamespace("ggplot2", quietly = TRUE)) {
#'   set.seed(1)
#'   d <- data.frame(y = rep(0:1, each = 40))
#'   d$score <- d$y + rnorm(80)
#'   ggplot2::autoplot(roc_summary(d, "score", "y"), boot_n = 50, seed = 1)
#'   ggplot2::autoplot(partial_auc(d, "score", "y", range = c(1, 0.8)))
#' }
#' # forest plots: see the examples of fit_models() and interaction_groups()
#' @name autoplot.spinedlr_result
NULL

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_roc
autoplot.spinedlr_roc <- function(object, boot_n = 500, conf_level = 0.95, seed = NULL, ...) {
  curves <- curve_data(object)
  if (!is.null(seed)) set.seed(seed)
  sp <- seq(0, 1, by = 0.02)
  lines <- list()
  bands <- list()
  for (i in seq_len(nrow(object))) {
    s <- object$score[i]
    rp <- roc_path(curves, s)
    label <- sprintf("%s: AUC %s", s, fmt_ci(object$auc[i], object$auc_lower[i], object$auc_upper[i]))
    ci <- pROC::ci.se(rp$roc, specificities = sp, boot.n = boot_n, conf.level = conf_level, progress = "none")
    lines[[i]] <- cbind(rp$path, label = label)
    bands[[i]] <- data.frame(label = label, fpr = 1 - sp, lower = ci[, 1], upper = ci[, 3])
  }
  cut <- data.frame(label = vapply(lines, function(l) l$label[1], ""), fpr = 1 - object$specificity,
                    tpr = object$sensitivity)
  p <- ggplot2::ggplot() +
    ggplot2::geom_ribbon(data = do.call(rbind, bands),
                         ggplot2::aes(x = .data$fpr, ymin = .data$lower, ymax = .data$upper, fill = .data$label),
                         alpha = 0.2) +
    ggplot2::geom_path(data = do.call(rbind, lines), ggplot2::aes(x = .data$fpr, y = .data$tpr, colour = .data$label)) +
    ggplot2::geom_point(data = cut, ggplot2::aes(x = .data$fpr, y = .data$tpr, colour = .data$label), size = 2)
  roc_axes(p)
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_pauc
autoplot.spinedlr_pauc <- function(object, ...) {
  curves <- curve_data(object)
  lines <- list()
  regions <- list()
  for (i in seq_len(nrow(object))) {
    rp <- roc_path(curves, object$score[i])
    label <- sprintf("%s: pAUC %s", object$score[i], fmt_num(object$pauc[i]))
    lo <- min(object$range_from[i], object$range_to[i])
    hi <- max(object$range_from[i], object$range_to[i])
    if (object$focus[i] == "specificity") {
      cl <- clip_path(rp$path$fpr, rp$path$tpr, 1 - hi, 1 - lo)
      region <- data.frame(fpr = c(1 - hi, cl$u, 1 - lo), tpr = c(0, cl$h, 0))
    } else {
      cl <- clip_path(rp$path$tpr, rp$path$fpr, lo, hi)
      region <- data.frame(fpr = c(1, cl$h, 1), tpr = c(lo, cl$u, hi))
    }
    lines[[i]] <- cbind(rp$path, label = label)
    regions[[i]] <- cbind(region, label = label)
  }
  p <- ggplot2::ggplot() +
    ggplot2::geom_polygon(data = do.call(rbind, regions),
                          ggplot2::aes(x = .data$fpr, y = .data$tpr, fill = .data$label), alpha = 0.3) +
    ggplot2::geom_path(data = do.call(rbind, lines), ggplot2::aes(x = .data$fpr, y = .data$tpr, colour = .data$label))
  roc_axes(p)
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_calibration
autoplot.spinedlr_calibration <- function(object, ...) {
  d <- as.data.frame(object)
  d$panel <- paste(d$score, d$model)
  panels <- unique(d$panel)
  long <- rbind(
    data.frame(panel = d$panel, predicted = d$predicted, observed = d$observed_apparent, curve = "apparent"),
    data.frame(panel = d$panel, predicted = d$predicted, observed = d$observed_corrected, curve = "bias-corrected")
  )
  p <- ggplot2::ggplot() +
    ggplot2::geom_abline(intercept = 0, slope = 1, linetype = "dotted", colour = "grey50")
  risk <- attr(object, "risk")
  if (!is.null(risk)) {
    risk$panel <- paste(risk$score, risk$model)
    bars <- do.call(rbind, lapply(split(risk, risk$panel), function(r) {
      h <- risk_hist(r$risk)
      data.frame(panel = r$panel[1], xmin = h$xmin, xmax = h$xmax, ymax = 0.15 * h$count / max(h$count))
    }))
    bars$panel <- factor(bars$panel, levels = panels)
    p <- p + ggplot2::geom_rect(data = bars, ggplot2::aes(xmin = .data$xmin, xmax = .data$xmax, ymin = 0,
                                                          ymax = .data$ymax), fill = "grey70")
  }
  long$panel <- factor(long$panel, levels = panels)
  p + ggplot2::geom_line(data = long, ggplot2::aes(x = .data$predicted, y = .data$observed, linetype = .data$curve)) +
    ggplot2::scale_linetype_manual(values = c(apparent = "dashed", `bias-corrected` = "solid")) +
    ggplot2::facet_wrap(~panel) +
    ggplot2::coord_cartesian(xlim = c(0, 1), ylim = c(0, 1)) +
    ggplot2::labs(x = "Predicted risk", y = "Observed risk", linetype = NULL,
                  caption = "Bars: distribution of predicted risks") +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom")
}

# Histogram counts of risks in [0, 1] in bins of 0.02.
risk_hist <- function(p) {
  breaks <- seq(0, 1, by = 0.02)
  count <- tabulate(findInterval(p, breaks, rightmost.closed = TRUE), length(breaks) - 1)
  data.frame(xmin = utils::head(breaks, -1), xmax = breaks[-1], count = count)
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_decision_curve
autoplot.spinedlr_decision_curve <- function(object, ...) {
  d <- as.data.frame(object)
  d$model[d$model == "all"] <- "Treat all"
  d$model[d$model == "none"] <- "Treat none"
  d$model <- factor(d$model, levels = unique(d$model))
  top <- max(d$net_benefit, na.rm = TRUE)
  ggplot2::ggplot(d, ggplot2::aes(x = .data$threshold, y = .data$net_benefit, colour = .data$model)) +
    ggplot2::geom_line() +
    ggplot2::coord_cartesian(ylim = c(-0.1 * top, 1.05 * top)) +
    ggplot2::labs(x = "Threshold probability", y = "Net benefit", colour = NULL) +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom")
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_clinical_impact
autoplot.spinedlr_clinical_impact <- function(object, ...) {
  d <- as.data.frame(object)
  long <- rbind(
    data.frame(score = d$score, threshold = d$threshold, n = d$n_high_risk, what = "Number high risk"),
    data.frame(score = d$score, threshold = d$threshold, n = d$n_high_risk_with_event,
               what = "Number high risk with event")
  )
  ggplot2::ggplot(long, ggplot2::aes(x = .data$threshold, y = .data$n, linetype = .data$what)) +
    ggplot2::geom_line() +
    ggplot2::facet_wrap(~score) +
    ggplot2::labs(x = "Threshold probability", y = sprintf("Number out of %s", format(d$population[1])),
                  linetype = NULL) +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom")
}

forest <- function(d, y, panel) {
  ggplot2::ggplot(d, ggplot2::aes(x = .data$or, y = .data[[y]])) +
    ggplot2::geom_vline(xintercept = 1, linetype = "dashed", colour = "grey50") +
    ggplot2::geom_errorbarh(ggplot2::aes(xmin = .data$or_lower, xmax = .data$or_upper), height = 0.2, na.rm = TRUE) +
    ggplot2::geom_point(size = 2) +
    ggplot2::scale_x_log10(labels = function(b) formatC(b, format = "g")) +
    ggplot2::facet_wrap(stats::as.formula(paste("~", panel)), scales = "free_y", ncol = 1) +
    ggplot2::labs(x = "Odds ratio (log scale)", y = NULL) +
    ggplot2::theme_bw()
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_models
autoplot.spinedlr_models <- function(object, ...) {
  d <- as.data.frame(object)
  d <- d[d$term != "intercept", , drop = FALSE]
  d$panel <- sprintf("%s (%s)", d$score, d$model)
  d$panel <- factor(d$panel, levels = unique(d$panel))
  d$term <- factor(d$term, levels = rev(unique(d$term)))
  forest(d, "term", "panel")
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_interaction
autoplot.spinedlr_interaction <- function(object, ...) {
  d <- as.data.frame(object)
  d$group <- factor(d$group, levels = rev(unique(d$group)))
  d$model <- factor(d$model, levels = unique(d$model))
  forest(d, "group", "model")
}
