# Helpers for study.qmd: reading the prepared CSVs and printing tables and figures with
# stable HTML ids (the browser test finds every table and figure by id).

# Text from the study's config or data, made inert: every ASCII character other than a
# letter, digit, space or one of . , - + % ( ) / = becomes a numeric character reference, so
# neither the HTML (<script>, "onerror=") nor pandoc's Markdown ([link](javascript:...), bare
# URIs, *emphasis*, `code`) can read it as anything but text. Numbers such as "0.812 (0.70-0.90)"
# and non-ASCII text (±, χ², accents) stay as they are. Everything the report prints from
# config or data goes through here.
esc <- function(x) {
  inert <- utf8ToInt(".,-+%()/=")
  vapply(as.character(x), function(s) {
    if (is.na(s)) return(NA_character_)
    cp <- utf8ToInt(enc2utf8(s))
    safe <- (cp >= 48 & cp <= 57) | (cp >= 65 & cp <= 90) | (cp >= 97 & cp <= 122) | cp == 32 |
      cp %in% inert | cp > 127
    out <- ifelse(safe, vapply(cp, intToUtf8, ""), sprintf("&#%d;", cp))
    paste(out, collapse = "")
  }, "", USE.NAMES = FALSE)
}

read_tbl <- function(name) {
  f <- file.path(data_dir, paste0(name, ".csv"))
  if (!file.exists(f)) return(NULL)
  df <- utils::read.csv(f, check.names = FALSE, stringsAsFactors = FALSE)
  # Polars writes booleans as true/false, which read.csv leaves as text.
  for (col in names(df)) {
    if (is.character(df[[col]]) && all(df[[col]] %in% c("true", "false", NA))) df[[col]] <- df[[col]] == "true"
  }
  df
}

fmt <- function(x, digits = 3) ifelse(is.na(x), "", formatC(x, format = "f", digits = digits))

fmt_ci <- function(est, lo, hi, digits = 3) {
  ifelse(is.na(est), "", ifelse(is.na(lo), fmt(est, digits),
         sprintf("%s (%s\u2013%s)", fmt(est, digits), fmt(lo, digits), fmt(hi, digits))))
}

fmt_p <- function(p) ifelse(is.na(p), "", ifelse(p < 0.001, "<0.001", formatC(p, format = "f", digits = 3)))

# A table as HTML with an id, so it can be linked to and found by tests. label = NA: knitr
# would otherwise prefix the caption with a cross-reference label built from the chunk name
# (when bookdown-style labels are on, as under Quarto), which the renderer then numbers
# "Table 1:", "Table 2:", ... in page order and collides with the study's own Table 1-4.
show_table <- function(df, id, caption = NULL, ...) {
  if (is.null(df) || !nrow(df)) return(missing_note(id))
  df <- readable(df)  # _report_format.R: readable headers, formatted numbers
  for (col in names(df)) if (is.character(df[[col]]) || is.factor(df[[col]])) df[[col]] <- esc(df[[col]])
  names(df) <- esc(names(df))
  html <- knitr::kable(df, format = "html", row.names = FALSE, label = NA,
                       caption = if (is.null(caption)) NULL else esc(caption), escape = FALSE,
                       table.attr = sprintf('id="%s" class="table table-sm table-striped" data-quarto-disable-processing="true"', id), ...)
  knitr::asis_output(html)
}

# Table 3 of a clinical-factor selection (spinedlr::clinical_selection, exported by the
# compare and fusion stages): one row per univariable term, its multivariable estimate
# beside it when the factor entered. `labels`: covariate name -> label (NA = the name).
clinical_selection_table <- function(cs, labels, id, caption) {
  if (is.null(cs) || !nrow(cs)) return(missing_note(id))
  uni <- cs[cs$analysis == "univariable", ]
  multi <- cs[cs$analysis == "multivariable", ]
  at <- match(uni$term, multi$term)
  labels <- labels[!is.na(labels)]
  var <- ifelse(uni$variable %in% names(labels), labels[uni$variable], uni$variable)
  var[duplicated(var)] <- ""
  show_table(data.frame(
    Variable = unname(var), Term = uni$term,
    `Univariable OR (95% CI)` = fmt_ci(uni$or, uni$or_lower, uni$or_upper), `P (univariable)` = fmt_p(uni$p_value),
    `Multivariable OR (95% CI)` = fmt_ci(multi$or[at], multi$or_lower[at], multi$or_upper[at]),
    `P (multivariable)` = fmt_p(multi$p_value[at]), check.names = FALSE),
    id, caption)
}

missing_note <- function(what) {
  knitr::asis_output(sprintf('<p class="missing">Not available in this study\'s outputs (%s).</p>', esc(what)))
}

# "radscore_<roi>" -> "<Roi> Radscore"; the combined Radscore names its ROIs (from the study).
roi_title <- function(roi) paste0(toupper(substring(roi, 1, 1)), substring(roi, 2))

score_label <- function(x) {
  out <- ifelse(grepl("^radscore_", x), paste(roi_title(sub("^radscore_", "", x)), "Radscore"), x)
  out[x == "radscore_combined"] <- paste(roi_title(study$rois), collapse = " + ")
  if (!is.null(study$comparator)) out[x == study$comparator] <- comparator_label
  unname(out)
}

theme_report <- function() {
  ggplot2::theme_minimal(base_size = 11) +
    ggplot2::theme(legend.position = "bottom", panel.grid.minor = ggplot2::element_blank())
}
