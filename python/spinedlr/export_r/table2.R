# Reproduces Table 2 (ROC summaries of every model, unadjusted and adjusted) of the spinedlr
# report with the R package alone.  Run from this folder:  Rscript table2.R
source("load_analysis.R")
scores <- unlist(design$table2_scores)
pred <- predict_models(analysis, outcome, scores, covariates, separation = design$separation[[1]])
rows <- list()
for (s in scores) {
  for (m in unique(pred$model[pred$score == s])) {
    if (m == "unadjusted") {
      r <- roc_summary(analysis, s, outcome, conf_level = design$conf_level[[1]])
    } else {
      p <- pred[pred$score == s & pred$model == m, ]
      r <- roc_summary(data.frame(y = p$outcome, lp = p$linear_predictor), "lp", "y", conf_level = design$conf_level[[1]])
    }
    rows[[length(rows) + 1]] <- cbind(data.frame(score = s, model = m), r)
  }
}
table2 <- do.call(rbind, rows)
utils::write.csv(table2, "table2_from_R.csv", row.names = FALSE)
print(table2[, c("score", "model", "auc", "auc_lower", "auc_upper", "cutoff", "sensitivity", "specificity")])
