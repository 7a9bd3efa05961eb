# Journal formatting for study.qmd: readable column headers and numbers, sortable long
# tables, escaped HTML tables for the new sections, and the figures with confidence bands.
# Sourced after _helpers.R (it uses esc(), fmt(), fmt_p(), score_label(), theme_report()).

# Column names as a reader expects them; anything else in snake_case gets its underscores
# replaced and a capital first letter.
HEADERS <- c(
  roi = "ROI", label = "Label", cases = "Cases", dice = "Dice", dice_sd = "Dice SD",
  hd95_mm = "HD95 (mm)", family = "Family", rater = "Rater", patients = "Patients",
  features = "Features", non_finite = "Non-finite values", step = "Step", n_in = "Features in",
  n_out = "Features out", radscore = "Radscore", term = "Term", coefficient = "Coefficient",
  mean = "Mean", sd = "SD", method = "Method", selection = "Feature selection", auc = "AUC",
  fold_auc_sd = "SD of fold AUCs", variable = "Variable", level = "Level", type = "Type",
  total = "Total", test = "Test", statistic = "Statistic", p_value = "P", item = "Item",
  value = "Value", patient_id = "Patient", feature = "Feature", error = "Error",
  n = "n", n_events = "Events", df = "df"
)

readable_names <- function(x) {
  out <- ifelse(x %in% names(HEADERS), HEADERS[x], x)
  snake <- !(x %in% names(HEADERS)) & grepl("^[a-z0-9]+(_[a-z0-9]+)+$|^[a-z]+$", x)
  out[snake] <- sub("^(.)", "\\U\\1", gsub("_", " ", x[snake]), perl = TRUE)
  unname(out)
}

# A number for a table: whole numbers as integers, small magnitudes with three significant
# digits, the rest with three decimals.
fmt_num <- function(x) {
  out <- ifelse(is.na(x), "", ifelse(x == round(x) & abs(x) < 1e15, formatC(x, format = "d", big.mark = ""),
                ifelse(abs(x) < 0.001, formatC(x, format = "g", digits = 3), formatC(x, format = "f", digits = 3))))
  unname(out)
}

# Readable headers and formatted numbers (P values as P values); text columns unchanged.
readable <- function(df) {
  if (is.null(df)) return(df)
  for (col in names(df)) {
    v <- df[[col]]
    if (is.logical(v)) df[[col]] <- ifelse(is.na(v), "", ifelse(v, "yes", "no"))
    else if (col %in% c("p_value", "p")) df[[col]] <- if (is.numeric(v)) fmt_p(v) else v
    else if (is.double(v)) df[[col]] <- fmt_num(v)
  }
  names(df) <- readable_names(names(df))
  df
}

# jQuery DataTables as shipped with Debian's r-cran-dt; pandoc inlines it into the
# self-contained file, so nothing is fetched from the web.
datatables_dep <- function() {
  htmltools::htmlDependency(
    "datatables", as.character(utils::packageVersion("DT")),
    src = system.file("htmlwidgets", "lib", "datatables", package = "DT"),
    script = c("js/jquery.dataTables.min.js", "js/dataTables.bootstrap.min.js"),
    stylesheet = "css/dataTables.bootstrap.min.css"
  )
}

# Make an already printed table (found by its id) sortable and searchable. The table stays
# plain HTML, so it reads the same with scripts off and keeps its id for links and tests.
sortable <- function(id) {
  stopifnot(grepl("^[a-z0-9-]+$", id))
  js <- sprintf(paste0("<script>document.addEventListener('DOMContentLoaded', function () {",
                       "jQuery('#%s').DataTable({paging: false, info: false, order: [], autoWidth: false});",
                       "});</script>"), id)
  knitr::asis_output(js, meta = list(datatables_dep()))
}

# A table whose every cell, header and the caption are escaped here (esc), for the sections
# this file adds: nothing from the config or data can become HTML or Markdown.
html_table <- function(df, id, caption) {
  stopifnot(grepl("^[a-z0-9-]+$", id))
  if (is.null(df) || !nrow(df)) return(missing_note(id))
  cells <- as.data.frame(lapply(df, function(v) esc(ifelse(is.na(v), "", as.character(v)))),
                         check.names = FALSE, stringsAsFactors = FALSE)
  names(cells) <- esc(names(df))
  knitr::asis_output(knitr::kable(cells, format = "html", escape = FALSE, row.names = FALSE,
                                  caption = esc(caption),
                                  table.attr = sprintf('id="%s" class="table table-sm table-striped"', id)))
}

# Both stages of a figure: predictions in wide form per model (one column per score label).
wide_by_model <- function(pred, model, value = "linear_predictor") {
  d <- pred[pred$model == model, ]
  w <- stats::reshape(d[, c("patient_id", "outcome", "score", value)], idvar = c("patient_id", "outcome"),
                      timevar = "score", direction = "wide")
  names(w) <- sub(paste0("^", value, "\\."), "", names(w))
  w
}

# ROC curves of one adjustment with the package's autoplot: empirical curve, stratified
# bootstrap band of sensitivity (pROC::ci.se) and the Youden point.
roc_figure <- function(pred, model, boot_n, seed) {
  w <- wide_by_model(pred, model)
  scores <- setdiff(names(w), c("patient_id", "outcome"))
  labels <- score_label(scores)
  names(w)[match(scores, names(w))] <- labels
  parts <- lapply(labels, function(s) spinedlr::roc_summary(w, s, "outcome"))
  both <- structure(do.call(rbind, lapply(parts, as.data.frame)),
                    curves = do.call(rbind, lapply(parts, attr, "curves")), class = class(parts[[1]]))
  ggplot2::autoplot(both, boot_n = boot_n, seed = seed) +
    ggplot2::guides(colour = ggplot2::guide_legend(ncol = 1), fill = ggplot2::guide_legend(ncol = 1)) +
    ggplot2::labs(title = sprintf("ROC curves, %s models", model),
                  subtitle = sprintf("shaded: %d-resample bootstrap 95%% band of sensitivity", boot_n))
}

# Resample patients B times (stratified by outcome, as pROC does), returning index vectors.
boot_index <- function(y, B, seed) {
  set.seed(seed)
  lapply(seq_len(B), function(i) c(sample(which(y == 1), replace = TRUE), sample(which(y == 0), replace = TRUE)))
}

# Calibration: the rms::calibrate curves (apparent, bias-corrected) with a 95% bootstrap band
# around the apparent flexible curve (lowess of outcome on predicted risk, as rms uses), and
# the distribution of predicted risks as a rug.
calibration_figure <- function(cal, pred, B, seed) {
  grid <- seq(0.02, 0.98, by = 0.02)
  bands <- do.call(rbind, lapply(split(pred, list(pred$score, pred$model), drop = TRUE), function(d) {
    if (!d$score[1] %in% cal$score) return(NULL)
    idx <- boot_index(d$outcome, B, seed)
    curves <- vapply(idx, function(i) {
      fit <- stats::lowess(d$risk[i], d$outcome[i], iter = 0)
      keep <- !duplicated(fit$x)
      stats::approx(fit$x[keep], fit$y[keep], xout = grid, rule = 1)$y
    }, numeric(length(grid)))
    inside <- grid >= min(d$risk) & grid <= max(d$risk)
    data.frame(score = score_label(d$score[1]), model = d$model[1], predicted = grid[inside],
               lower = pmax(0, apply(curves[inside, , drop = FALSE], 1, stats::quantile, 0.025, na.rm = TRUE)),
               upper = pmin(1, apply(curves[inside, , drop = FALSE], 1, stats::quantile, 0.975, na.rm = TRUE)))
  }))
  cal$score <- score_label(cal$score)
  long <- rbind(data.frame(cal[, c("score", "model", "predicted")], observed = cal$observed_apparent, curve = "apparent"),
                data.frame(cal[, c("score", "model", "predicted")], observed = cal$observed_corrected,
                           curve = "bias-corrected"))
  rug <- pred[pred$score %in% unique(pred$score[score_label(pred$score) %in% cal$score]), ]
  rug$score <- score_label(rug$score)
  ggplot2::ggplot() + ggplot2::geom_abline(linetype = 3, colour = "grey50") +
    ggplot2::geom_ribbon(data = bands, ggplot2::aes(x = predicted, ymin = lower, ymax = upper),
                         fill = "steelblue", alpha = 0.2) +
    ggplot2::geom_line(data = long, ggplot2::aes(predicted, observed, linetype = curve)) +
    ggplot2::geom_rug(data = rug, ggplot2::aes(x = risk), sides = "b", alpha = 0.3, length = ggplot2::unit(0.03, "npc")) +
    ggplot2::facet_grid(model ~ score) + ggplot2::coord_equal(xlim = c(0, 1), ylim = c(0, 1)) +
    ggplot2::labs(x = "Predicted probability", y = "Observed probability", linetype = NULL,
                  title = "Calibration (rms::calibrate, bootstrap bias-corrected)",
                  subtitle = sprintf("shaded: 95%% band of the apparent curve (%d bootstrap resamples)\nticks: predicted risks", B)) +
    theme_report()
}

# Net benefit of treating patients with risk >= t, for each threshold t.
net_benefit <- function(risk, y, thresholds) {
  n <- length(y)
  vapply(thresholds, function(t) {
    pos <- risk >= t
    sum(pos & y == 1) / n - sum(pos & y == 0) / n * t / (1 - t)
  }, 0)
}

# Decision curves with 95% bootstrap bands of each model's net benefit (the models' risks are
# held fixed; patients are resampled), beside treat-all and treat-none.
dca_figure <- function(dca, pred, B, seed) {
  reference <- c(all = "Treat all", none = "Treat none")
  dca$label <- ifelse(is.na(dca$score) | dca$score == "",
                      ifelse(dca$curve %in% names(reference), reference[dca$curve], dca$curve), score_label(dca$score))
  dca$model[is.na(dca$model) | dca$model == ""] <- "reference"
  refs <- dca[dca$model == "reference", ]
  fits <- dca[dca$model != "reference", ]
  th <- sort(unique(fits$threshold))
  bands <- do.call(rbind, lapply(split(pred, list(pred$score, pred$model), drop = TRUE), function(d) {
    idx <- boot_index(d$outcome, B, seed)
    nb <- vapply(idx, function(i) net_benefit(d$risk[i], d$outcome[i], th), numeric(length(th)))
    data.frame(label = score_label(d$score[1]), model = d$model[1], threshold = th,
               lower = apply(nb, 1, stats::quantile, 0.025), upper = apply(nb, 1, stats::quantile, 0.975))
  }))
  plots <- do.call(rbind, lapply(unique(fits$model), function(m) rbind(fits[fits$model == m, ], transform(refs, model = m))))
  top <- max(plots$net_benefit, na.rm = TRUE)
  ggplot2::ggplot(plots, ggplot2::aes(threshold, net_benefit, colour = label)) +
    ggplot2::geom_ribbon(data = bands, ggplot2::aes(x = threshold, ymin = lower, ymax = upper, fill = label),
                         inherit.aes = FALSE, alpha = 0.15) +
    ggplot2::geom_line() + ggplot2::facet_wrap(~model) + ggplot2::guides(fill = "none") +
    ggplot2::coord_cartesian(ylim = c(-0.25 * top, top * 1.05)) +
    ggplot2::labs(x = "Threshold probability", y = "Net benefit", colour = NULL, fill = NULL,
                  title = "Decision curves (treat if risk \u2265 threshold)",
                  subtitle = sprintf("shaded: 95%% bootstrap band of net benefit (%d resamples)", B)) +
    theme_report()
}

# A model term as a reader knows it: covariate labels from the config, "gender=male" as
# "Gender: male", Radscores by their report names.
term_label <- function(term) {
  labels <- setNames(study$covariates$label, study$covariates$name)
  labels <- labels[!is.na(labels)]
  name <- sub("=.*$", "", term)
  level <- ifelse(grepl("=", term), sub("^[^=]*=", "", term), NA_character_)
  base <- ifelse(name %in% names(labels), labels[name], score_label(name))
  unname(ifelse(is.na(level), base, paste0(base, ": ", level)))
}

# The Table 1 row of the two-Radscore groups (evaluate.interaction), named for a reader.
group_label <- function() {
  ia <- study$settings$evaluate$interaction
  if (length(ia) != 2) return("Radscore group")
  sprintf("Radscore group (%s / %s; High = at or above the Youden cut-off)", score_label(ia[1]), score_label(ia[2]))
}
