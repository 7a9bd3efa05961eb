# The reference study's Table 1 gives the four interaction groups' counts
# (muscle x disc: High/High 11 + 20, Low/High 12 + 9, High/Low 32 + 7, Low/Low 76 + 3).
table4_data <- function() {
  n0 <- c(11, 12, 32, 76)
  n1 <- c(20, 9, 7, 3)
  muscle <- c(1, 0, 1, 0)
  disc <- c(1, 1, 0, 0)
  data.frame(y = rep(rep(c(0L, 1L), each = 4), c(n0, n1)), muscle = rep(rep(muscle, 2), c(n0, n1)),
             disc = rep(rep(disc, 2), c(n0, n1)))
}

test_that("interaction_groups reproduces the reference study's unadjusted Table 4", {
  t4 <- interaction_groups(table4_data(), "y", "muscle", "disc", 0.5, 0.5)
  expect_equal(t4$group, c("High/High", "Low/High", "High/Low", "Low/Low"))
  expect_true(t4$reference[1])
  expect_equal(round(t4$b[-1], 3), c(-0.886, -2.118, -3.830))
  expect_equal(round(t4$se[-1], 3), c(0.579, 0.561, 0.698))
  expect_equal(round(t4$or[-1], 3), c(0.413, 0.120, 0.022))
  expect_equal(round(t4$or_lower[-1], 3), c(0.129, 0.038, 0.005))
  expect_equal(round(t4$or_upper[-1], 3), c(1.267, 0.346, 0.075))
  expect_equal(round(t4$p_value[2], 3), 0.126)
  expect_equal(t4$n, c(31L, 21L, 39L, 79L))
})

test_that("adjusted rows appear with covariates; empty groups are refused", {
  d <- table4_data()
  set.seed(1)
  d$age <- rnorm(nrow(d), 60, 10)
  t4 <- interaction_groups(d, "y", "muscle", "disc", 0.5, 0.5, covariates = "age")
  expect_equal(unique(t4$model), c("unadjusted", "adjusted"))
  expect_error(interaction_groups(d, "y", "muscle", "disc", 2, 0.5), "no patient is High on both")
})
