# print(), autoplot() and plot() methods of the multi-class, rater and nomogram results.

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_multiclass <- function(x, ...) {
  print_table(x, c("metric", "class", "estimate", "lower", "upper", "n_boot"),
              "Multi-class metrics (percentile bootstrap CI over patients)", function(x) {
    data.frame(metric = ifelse(is.na(x$class), x$metric, sprintf("%s [%s]", x$metric, x$class)),
               estimate = fmt_ci(x$estimate, x$lower, x$upper), resamples = x$n_boot)
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_confusion <- function(x, ...) {
  if (!all(c("truth", "predicted", "n") %in% names(x))) return(print(as.data.frame(x)))
  lev <- unique(x$truth)
  cm <- matrix(x$n, length(lev), byrow = TRUE, dimnames = list(truth = lev, predicted = lev))
  cat("Confusion matrix (rows: truth, columns: predicted)\n")
  print(cm)
  cat("(shares with CI: as.data.frame(x))\n")
  invisible(x)
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_kappa <- function(x, ...) {
  print_table(x, c("rater1", "rater2", "n", "agreement", "kappa", "kappa_lower", "kappa_upper"),
              "Cohen's kappa (Fleiss-Cohen-Everitt CI)", function(x) {
    data.frame(raters = paste(x$rater1, "vs", x$rater2), n = x$n, agreement = fmt_num(x$agreement),
               kappa = fmt_ci(x$kappa, x$kappa_lower, x$kappa_upper))
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_raters <- function(x, ...) {
  metrics <- c("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")
  print_table(x, c("reader", "n", paste0(metrics, "_lower"), "mcnemar_p"),
              "Model vs raters (exact CI; McNemar's exact test of accuracy vs the model)", function(x) {
    out <- data.frame(reader = x$reader, n = x$n)
    for (m in metrics) out[[m]] <- fmt_ci(x[[m]], x[[paste0(m, "_lower")]], x[[paste0(m, "_upper")]])
    out$McNemar_P <- fmt_p(x$mcnemar_p)
    out
  })
}

#' @rdname print.spinedlr_result
#' @export
print.spinedlr_nomogram <- function(x, ...) {
  print_table(x, c("axis", "kind", "value", "points"), "Nomogram points (rms::nomogram)", function(x) {
    data.frame(axis = x$axis, value = x$value, points = fmt_num(x$points, 1))
  })
}

#' @rdname autoplot.spinedlr_result
#' @param type for multi-class metrics: `"confusion"` (heat map of the share of each true
#'   class predicted as each class, with counts) or `"roc"` (one-vs-rest ROC curve per class).
#' @exportS3Method ggplot2::autoplot spinedlr_multiclass
autoplot.spinedlr_multiclass <- function(object, type = c("confusion", "roc"), ...) {
  type <- match.arg(type)
  if (type == "confusion") return(ggplot2::autoplot(attr(object, "confusion")))
  curves <- attr(object, "curves")
  if (is.null(curves)) stop_user("this result carries no rows to draw; make it with multiclass_metrics()")
  classes <- colnames(curves$P)
  auc <- object$estimate[object$metric == "auroc"]
  paths <- do.call(rbind, lapply(seq_along(classes), function(k) {
    r <- make_roc(as.integer(curves$y == classes[k]), curves$P[, k])
    data.frame(label = sprintf("%s (AUC %s)", classes[k], fmt_num(auc[k])),
               fpr = rev(1 - r$specificities), tpr = rev(r$sensitivities))
  }))
  p <- ggplot2::ggplot(paths, ggplot2::aes(x = .data$fpr, y = .data$tpr, colour = .data$label)) +
    ggplot2::geom_path()
  roc_axes(p)
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_confusion
autoplot.spinedlr_confusion <- function(object, ...) {
  d <- as.data.frame(object)
  lev <- unique(d$truth)
  d$truth <- factor(d$truth, levels = rev(lev))
  d$predicted <- factor(d$predicted, levels = lev)
  ggplot2::ggplot(d, ggplot2::aes(x = .data$predicted, y = .data$truth, fill = .data$proportion)) +
    ggplot2::geom_tile(colour = "white") +
    ggplot2::geom_text(ggplot2::aes(label = .data$n)) +
    ggplot2::scale_fill_gradient(low = "white", high = "steelblue", limits = c(0, 1)) +
    ggplot2::labs(x = "Predicted class", y = "True class", fill = "Share of\ntrue class") +
    ggplot2::coord_equal() + ggplot2::theme_bw()
}

#' @rdname autoplot.spinedlr_result
#' @exportS3Method ggplot2::autoplot spinedlr_raters
autoplot.spinedlr_raters <- function(object, ...) {
  d <- as.data.frame(object)
  metrics <- c("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")
  long <- do.call(rbind, lapply(metrics, function(m) {
    data.frame(reader = d$reader, metric = m, estimate = d[[m]], lower = d[[paste0(m, "_lower")]],
               upper = d[[paste0(m, "_upper")]])
  }))
  long$metric <- factor(long$metric, levels = metrics)
  ggplot2::ggplot(long, ggplot2::aes(x = .data$estimate, y = .data$reader, xmin = .data$lower, xmax = .data$upper)) +
    ggplot2::geom_errorbarh(height = 0.2) + ggplot2::geom_point(size = 2) +
    ggplot2::facet_wrap(~metric) + ggplot2::coord_cartesian(xlim = c(0, 1)) +
    ggplot2::labs(x = "Estimate (exact CI)", y = NULL) + ggplot2::theme_bw()
}

#' Draw a nomogram
#'
#' Draws the nomogram with `rms`'s plot method (base graphics), the figure of a
#' radiomics-nomogram paper. `rms` labels every tick of the risk axis, and the ticks crowd
#' where the risk is near 0.5 (the more so the wider the total-points range), so unless
#' `fun.side` is given the labels are placed below and above the axis in turn, and a label
#' with room on neither side is left off (its tick stays), measured on the open device.
#'
#' @param x a result of [nomogram()].
#' @param ... passed to `rms`'s `plot.nomogram` (e.g. `xfrac`, `cex.axis`, `fun.side`).
#' @return `x`, invisibly.
#' @examples
#' d <- pROC::aSAH
#' d$poor <- as.integer(d$outcome == "Poor")
#' plot(nomogram(d, "poor", c("s100b", "age")))
#' @export
plot.spinedlr_nomogram <- function(x, ...) {
  nm <- attr(x, "nomogram")
  if (is.null(nm)) stop_user("this result carries no nomogram to draw; make it with nomogram()")
  args <- list(...)
  if (is.null(args$fun.side) && !is.null(nm$Risk)) {
    if (is.null(grDevices::dev.list())) grDevices::dev.new()  # the device plot() would open
    cex <- if (is.null(args$cex.axis)) 0.85 else args$cex.axis
    xfrac <- if (is.null(args$xfrac)) 0.35 else args$xfrac
    # rms draws the bottom axes in total points over a window from -xfrac * max to max
    # (plus R's 4% on each side); the risk ticks are in total points
    per_inch <- max(nm$total.points$x) * (1 + xfrac) * 1.08 / graphics::par("pin")[1]
    inches <- function(s) graphics::strwidth(s, units = "inches", cex = cex) * per_inch
    sides <- label_sides(nm$Risk$x, inches(nm$Risk$fat), gap = inches("0"))
    nm$Risk$fat[is.na(sides)] <- ""
    args$fun.side <- replace(rep(1, length(nm$Risk$which)), nm$Risk$which, ifelse(is.na(sides), 1, sides))
  }
  do.call(graphics::plot, c(list(nm), args))
  invisible(x)
}

# The side of each axis label, 1 (below) or 3 (above), or NA to leave it off: in order along
# the axis, each label goes to the side the previous one did not take if it clears the last
# label there by `gap`, else to the other side if it clears that one, else nowhere. `x` are
# the tick positions and `widths` the label widths, in the same units.
label_sides <- function(x, widths, gap) {
  right <- c(-Inf, -Inf, -Inf)  # right edge of the last label on side 1 and side 3
  sides <- rep(NA_real_, length(x))
  prefer <- 1
  for (j in order(x)) {
    for (s in c(prefer, 4 - prefer)) {
      if (x[j] - widths[j] / 2 >= right[s] + gap) {
        sides[j] <- s
        right[s] <- x[j] + widths[j] / 2
        prefer <- 4 - s
        break
      }
    }
  }
  sides
}
