# Known answers: glm() estimates, summary() Wald P and confint.default() intervals.
# glm's default tolerance leaves its standard errors ~1e-6 off the converged ones.
tight <- stats::glm.control(epsilon = 1e-14, maxit = 100)

clinical_data <- function(n = 300, seed = 1) {
  set.seed(seed)
  d <- data.frame(odi = rnorm(n, 40, 12), pfirrmann = sample(2:5, n, TRUE),
                  msu = factor(sample(c("1A", "2B", "3C"), n, TRUE)), noise = rnorm(n),
                  stringsAsFactors = FALSE)
  lp <- -4 + 0.05 * d$odi + 0.5 * d$pfirrmann + ifelse(d$msu == "3C", 0.9, 0)
  d$y <- rbinom(n, 1, plogis(lp))
  d
}

glm_rows <- function(d, terms) {
  g <- stats::glm(stats::reformulate(terms, "y"), family = stats::binomial, data = d, control = tight)
  s <- summary(g)$coefficients[-1, , drop = FALSE]
  ci <- exp(stats::confint.default(g))[-1, , drop = FALSE]
  list(g = g, b = unname(s[, 1]), se = unname(s[, 2]), p = unname(s[, 4]), or_lower = unname(ci[, 1]),
       or_upper = unname(ci[, 2]))
}

test_that("univariable rows equal glm with Wald (confint.default) intervals", {
  d <- clinical_data()
  cs <- clinical_selection(d, "y", c("odi", "pfirrmann", "msu", "noise"))
  uni <- cs[cs$analysis == "univariable", ]
  for (v in c("odi", "pfirrmann", "msu", "noise")) {
    ref <- glm_rows(d, v)
    r <- uni[uni$variable == v, ]
    expect_equal(r$b, ref$b, tolerance = 1e-7)
    expect_equal(r$se, ref$se, tolerance = 1e-6)
    expect_equal(r$p_value, ref$p, tolerance = 1e-6)
    expect_equal(r$or_lower, ref$or_lower, tolerance = 1e-6)
    expect_equal(r$or_upper, ref$or_upper, tolerance = 1e-6)
  }
  expect_equal(uni$term[uni$variable == "msu"], c("msu=2B", "msu=3C"))
})

test_that("a factor enters by the joint Wald test of its dummies; one column by its own P", {
  d <- clinical_data()
  cs <- as.data.frame(clinical_selection(d, "y", c("odi", "msu")))
  g <- glm_rows(d, "msu")$g
  b <- stats::coef(g)[-1]
  w <- drop(t(b) %*% solve(stats::vcov(g)[-1, -1], b))
  expect_equal(unique(cs$p_variable[cs$variable == "msu" & cs$analysis == "univariable"]),
               stats::pchisq(w, 2, lower.tail = FALSE), tolerance = 1e-6)
  odi <- cs[cs$variable == "odi" & cs$analysis == "univariable", ]
  expect_equal(odi$p_variable, odi$p_value)
})

test_that("the multivariable model holds exactly the candidates with P < p_enter", {
  d <- clinical_data()
  cands <- c("odi", "pfirrmann", "msu", "noise")
  cs <- clinical_selection(d, "y", cands, p_enter = 0.05)
  uni <- cs[cs$analysis == "univariable", ]
  entered <- cands[cands %in% uni$variable[uni$p_variable < 0.05]]
  expect_equal(entered, c("odi", "pfirrmann", "msu"))
  expect_false("noise" %in% entered)
  expect_equal(sort(unique(uni$variable[uni$selected])), sort(entered))
  multi <- cs[cs$analysis == "multivariable", ]
  expect_equal(unique(multi$variable), entered)
  ref <- glm_rows(d, entered)
  expect_equal(multi$b, ref$b, tolerance = 1e-7)
  expect_equal(multi$p_value, ref$p, tolerance = 1e-6)
  expect_equal(multi$or_lower, ref$or_lower, tolerance = 1e-6)
  expect_equal(multi$or_upper, ref$or_upper, tolerance = 1e-6)
  none <- clinical_selection(d, "y", "noise", p_enter = 1e-6)
  expect_false(any(none$analysis == "multivariable"))
})

test_that("bad input is refused with the column named", {
  d <- clinical_data()
  expect_error(clinical_selection(d, "y", c("odi", "odi")), "distinct")
  expect_error(clinical_selection(d, "y", "bmi"), "'bmi'")
  expect_error(clinical_selection(d, "y", "y"), "outcome 'y'")
  expect_error(clinical_selection(d, "y", "odi", p_enter = 0), "p_enter")
  d$odi[3] <- NA
  expect_error(clinical_selection(d, "y", "odi"), "'odi' has 1 missing")
})

test_that("print gives the Table 3 layout and autoplot a forest plot", {
  cs <- clinical_selection(clinical_data(), "y", c("odi", "pfirrmann", "noise"))
  expect_output(print(cs), "univariable OR \\(95% CI\\)")
  expect_output(print(cs), "multivariable P")
  skip_if_not_installed("ggplot2")
  p <- ggplot2::autoplot(cs)
  expect_s3_class(p, "ggplot")
  expect_equal(levels(p$data$analysis), c("univariable", "multivariable"))
})
