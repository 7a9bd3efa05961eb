# Fallback renderer when the quarto CLI is absent: render the same .qmd with rmarkdown.
# Usage: Rscript render.R <study.qmd> <study output folder>
# Arguments arrive as R objects (commandArgs), never pasted into R code.
args <- commandArgs(trailingOnly = TRUE)
qmd <- normalizePath(args[[1]])
study_out <- normalizePath(args[[2]])
fmt <- rmarkdown::html_document(
  toc = TRUE, toc_depth = 2, number_sections = FALSE, self_contained = TRUE,
  df_print = "kable", fig_width = 7, fig_height = 4.5, theme = "cosmo",
  mathjax = NULL  # no math in the report, and nothing may load from the web
)
rmarkdown::render(qmd, output_format = fmt, output_file = "study.html",
                  output_dir = dirname(qmd), params = list(study_out = study_out),
                  envir = new.env(), quiet = TRUE)
