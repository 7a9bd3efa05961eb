# Runs the table2.R script written by `spinedlr export` (tests/test_e2e_report.py exports a
# study and calls this file with SPINEDLR_EXPORT_DIR set; the plain R suite skips it).
test_that("the exported table2.R reproduces Table 2 with library(spinedlr)", {
  dir <- Sys.getenv("SPINEDLR_EXPORT_DIR")
  skip_if(dir == "", "SPINEDLR_EXPORT_DIR not set (run through tests/test_e2e_report.py)")
  old <- setwd(dir)
  on.exit(setwd(old))
  unlink("table2_from_R.csv")
  expect_no_error(utils::capture.output(source("table2.R", local = new.env())))
  t2 <- utils::read.csv("table2_from_R.csv")
  analysis <- utils::read.csv("analysis.csv")
  expect_true(all(t2$model %in% names(analysis)))
  expect_true("radscore_disc" %in% t2$model)
  expect_true(all(t2$auc > 0.5 & t2$auc <= 1))
  expect_true(all(t2$auc_lower < t2$auc & t2$auc < t2$auc_upper))
})
