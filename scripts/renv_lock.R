# Write renv.lock (renv's JSON format) from the R packages installed by `make setup`.
# Why not renv itself: renv is not in Debian and CRAN is unreachable; the lock documents the
# exact versions the project is tested with, and tests/test_renv_lock.py fails on drift.
# Usage: Rscript scripts/renv_lock.R > renv.lock
direct <- c("pROC", "rms", "testthat", "rmarkdown", "knitr", "jsonlite", "ggplot2", "glmnet", "brglm2")
ip <- installed.packages()
base <- rownames(ip)[ip[, "Priority"] %in% "base"]
deps <- tools::package_dependencies(direct, db = ip, which = c("Depends", "Imports", "LinkingTo"),
                                    recursive = TRUE)
pkgs <- sort(setdiff(unique(c(direct, unlist(deps))), c(base, "R")))
entry <- function(p) {
  d <- packageDescription(p)
  req <- tools::package_dependencies(p, db = ip, which = c("Depends", "Imports", "LinkingTo"))[[1]]
  list(Package = p, Version = d$Version, Source = "Repository", Repository = "Debian",
       Requirements = I(sort(setdiff(req, c(base, "R")))))
}
lock <- list(
  R = list(Version = paste(R.version$major, R.version$minor, sep = "."),
           Repositories = list(list(Name = "Debian", URL = "https://deb.debian.org/debian"))),
  Packages = setNames(lapply(pkgs, entry), pkgs)
)
cat(jsonlite::toJSON(lock, auto_unbox = TRUE, pretty = TRUE), "\n")
