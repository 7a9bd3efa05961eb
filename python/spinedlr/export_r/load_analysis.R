# Loads the exported analysis with the pipeline's exact design; sourced by table2.R and
# table3.R, and the start of any analysis of your own (see the README, "For R users").
#   design    the study's settings as data (design.json): outcome, scores, covariates, ...
#   analysis  analysis.csv typed column by column as the pipeline passed it to R: numeric,
#             integer (ordinal covariates as their rank) or factor with the pipeline's levels
#             (first level = reference); data_dictionary.csv describes every column.
# Nothing here depends on the study: every name comes from design.json, read as data.
design <- jsonlite::read_json("design.json")
if (length(design$r_library) && dir.exists(design$r_library[[1]])) {
  .libPaths(c(design$r_library[[1]], .libPaths()))  # where the pipeline's spinedlr is installed
}
library(spinedlr)
analysis <- utils::read.csv("analysis.csv", check.names = FALSE, colClasses = "character", na.strings = "",
                            encoding = "UTF-8")
for (column in design$columns) {
  x <- analysis[[column$name]]
  analysis[[column$name]] <- switch(column$r_class,
    numeric = as.numeric(x),
    integer = as.integer(x),
    factor = factor(x, levels = unlist(column$levels)),
    character = x,
    stop(sprintf("design.json: unknown r_class '%s'", column$r_class))
  )
}
outcome <- design$outcome[[1]]
covariates <- unlist(design$covariates)
