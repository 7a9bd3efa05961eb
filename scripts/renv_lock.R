# Write renv.lock from the R packages `make setup` installs (Debian's r-cran-* packages), so
# that an R user with CRAN access gets the same versions with renv::restore().
# Usage: Rscript scripts/renv_lock.R > renv.lock   (tests/test_renv_lock.py fails on drift)
#
# Why not renv::snapshot(): renv is not in Debian and CRAN is unreachable here. Debian builds
# its r-cran-* packages from the CRAN sources unchanged, so the versions are CRAN versions.
# The repository is a Posit Package Manager snapshot of CRAN taken the day after the newest
# of these packages was published: every locked version exists there (older ones in its
# archive), and binaries for that date are built against the same package set. Each record
# carries renv's hash of its DESCRIPTION (the fields and normalisation of renv's
# renv_hash_description()), which renv uses to key its package cache.
direct <- c("pROC", "rms", "testthat", "rmarkdown", "knitr", "jsonlite", "ggplot2", "roxygen2", "MASS", "brglm2", "DT", "psych")
ip <- installed.packages(fields = "Date/Publication")
base <- rownames(ip)[ip[, "Priority"] %in% "base"]
deps <- tools::package_dependencies(direct, db = ip, which = c("Depends", "Imports", "LinkingTo"),
                                    recursive = TRUE)
pkgs <- sort(setdiff(unique(c(direct, unlist(deps))), c(base, "R")))

renv_hash <- function(p) {
  d <- read.dcf(system.file("DESCRIPTION", package = p))[1, ]
  fields <- c("Package", "Version", "Title", "Author", "Maintainer", "Description",
              "Depends", "Imports", "Suggests", "LinkingTo")
  d <- d[intersect(fields, names(d))]
  d <- d[order(names(d), method = "radix")]  # C-locale order
  contents <- gsub("[[:space:]]", "", paste(names(d), d, sep = ": ", collapse = "\n"))
  f <- tempfile()
  con <- file(f, open = "wb")
  writeLines(enc2utf8(contents), con = con, useBytes = TRUE)
  close(con)
  on.exit(unlink(f))
  unname(tools::md5sum(f))
}

entry <- function(p) {
  req <- tools::package_dependencies(p, db = ip, which = c("Depends", "Imports", "LinkingTo"))[[1]]
  list(Package = p, Version = ip[p, "Version"], Source = "Repository", Repository = "CRAN",
       Requirements = I(sort(setdiff(req, c(base, "R")))), Hash = renv_hash(p))
}

published <- as.Date(substr(ip[pkgs, "Date/Publication"], 1, 10))
snapshot <- format(max(published, na.rm = TRUE) + 1)
lock <- list(
  R = list(Version = paste(R.version$major, R.version$minor, sep = "."),
           Repositories = list(list(Name = "CRAN",
                                    URL = paste0("https://packagemanager.posit.co/cran/", snapshot)))),
  Packages = setNames(lapply(pkgs, entry), pkgs)
)
cat(jsonlite::toJSON(lock, auto_unbox = TRUE, pretty = TRUE), "\n")
