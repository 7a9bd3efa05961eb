# Run the R package's testthat suite against the installed package in .Rlib and print a
# closing "N passed, N failed" line (CI reads it); exit non-zero on any failure.
res <- testthat::test_dir("R/tests/testthat", package = "spinedlr", load_package = "installed",
                          reporter = "summary", stop_on_failure = FALSE)
df <- as.data.frame(res)
failed <- sum(df$failed) + sum(df$error)
passed <- sum(df$passed)
skipped <- sum(df$skipped)
cat(sprintf("testthat: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
if (failed > 0 || passed == 0) quit(status = 1)
