# Reproduces Table 3 (internal validation: LOOCV, k-fold, bootstrap, optimism correction) of
# the spinedlr report with the R package alone.  Run from this folder:  Rscript table3.R
source("load_analysis.R")
v <- design$validation
table3 <- validate_model(analysis, outcome, unlist(design$table3_scores), covariates, loocv = v$loocv[[1]],
                         k = v$k[[1]], boot_n = v$boot_n[[1]], seed = v$seed[[1]],
                         conf_level = design$conf_level[[1]], separation = design$separation[[1]])
utils::write.csv(table3, "table3_from_R.csv", row.names = FALSE)
print(table3[, c("score", "model", "method", "statistic", "estimate", "lower", "upper", "n_failed")])
