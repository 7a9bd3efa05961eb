test_that("check_outcome accepts 0/1 and rejects the rest with the column name", {
  expect_identical(check_outcome(c(0, 1, 1)), c(0L, 1L, 1L))
  expect_error(check_outcome(c(0, 2, 1), "recurrence"), "recurrence.*0/1.*2")
  expect_error(check_outcome(c(1, 1, 1), "recurrence"), "only one class")
  expect_error(check_outcome(c(0, NA, 1), "recurrence"), "missing")
})
