fixture <- function(name) read.csv(test_path("fixtures", name), stringsAsFactors = FALSE)

test_that("decision_curve reproduces dcurves on df_binary at every threshold 0.01-0.99", {
  d <- fixture("df_binary.csv")
  ref <- fixture("dcurves_df_binary.csv")
  got <- decision_curve(d, "cancer", c("cancerpredmarker", "famhistory"), thresholds = seq(0.01, 0.99, by = 0.01))
  key <- function(x) paste(x$model, format(round(x$threshold, 2)))
  m <- match(key(ref), key(got))
  expect_false(anyNA(m))
  expect_equal(got$net_benefit[m], ref$net_benefit, tolerance = 1e-9)
  expect_equal(got$net_intervention_avoided[m], ref$net_intervention_avoided, tolerance = 1e-9)
  expect_equal(got$test_pos_rate[m], ref$test_pos_rate, tolerance = 1e-9)
  at <- got[got$threshold == 0.25, ]
  expect_equal(round(at$net_benefit[at$model == "cancerpredmarker"], 4), 0.0640)
  expect_equal(round(at$net_benefit[at$model == "all"], 5), -0.14667)
  expect_equal(round(at$net_intervention_avoided[at$model == "cancerpredmarker"], 3), 0.632)
})

test_that("clinical_impact counts risk > threshold per population (rmda)", {
  d <- data.frame(y = c(1, 0, 1, 0), p = c(0.9, 0.5, 0.5, 0.1))
  ci <- clinical_impact(d, "y", "p", thresholds = c(0.5, 0.2), population = 100)
  expect_equal(ci$n_high_risk, c(25, 75))
  expect_equal(ci$n_high_risk_with_event, c(25, 50))
  expect_error(clinical_impact(d, "y", "p", thresholds = 1), "strictly between 0 and 1")
})
