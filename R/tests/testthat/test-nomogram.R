# nomogram(): the points and the points-to-risk line are rms::nomogram's for the same lrm fit.

nomogram_data <- function() {
  a <- asah()
  a$gender <- factor(a$gender)
  a
}

test_that("points equal rms::nomogram's for the same lrm fit", {
  a <- nomogram_data()
  nm <- nomogram(a, "y", c("s100b", "age", "gender"))
  dd <- rms::datadist(a[c("s100b", "age", "gender")])
  old <- options(datadist = dd)
  on.exit(options(old))
  fit <- rms::lrm(y ~ s100b + age + gender, data = a)
  ref <- rms::nomogram(fit, fun = plogis, funlabel = "Risk")
  for (v in c("s100b", "age", "gender")) {
    rows <- nm[nm$axis == v, ]
    expect_equal(rows$value, as.character(ref[[v]][[v]]))
    expect_equal(rows$points, unname(ref[[v]]$points))
  }
  risk <- nm[nm$kind == "risk", ]
  expect_equal(risk$points, ref$Risk$x)
  expect_equal(as.numeric(risk$value), ref$Risk$x.real)
  expect_equal(max(nm$points[nm$kind == "predictor"]), 100)
  # the total-points-to-risk line reproduces rms's risk axis (rms places its ticks by
  # inverting the risk function numerically, hence the tolerance)
  expect_equal(plogis(attr(nm, "intercept") + ref$Risk$x / attr(nm, "scale")), ref$Risk$x.real, tolerance = 1e-4)
  expect_equal(plogis(attr(nm, "intercept") + ref$lp$x / attr(nm, "scale")), plogis(ref$lp$x.real))
})

test_that("a patient's points summed from the table give the lrm fit's predicted risk", {
  a <- nomogram_data()
  nm <- nomogram(a, "y", c("s100b", "age", "gender"))
  pt <- function(v, x) nm$points[nm$axis == v & nm$value == x]
  # three patients whose values are ticks of the nomogram
  new <- data.frame(s100b = c(0.4, 1, 0), age = c(40, 75, 20), gender = factor(c("Female", "Male", "Male"),
                                                                                 levels = levels(a$gender)))
  total <- c(pt("s100b", "0.4") + pt("age", "40") + pt("gender", "Female"),
             pt("s100b", "1") + pt("age", "75") + pt("gender", "Male"),
             pt("s100b", "0") + pt("age", "20") + pt("gender", "Male"))
  s <- nomogram_score(nm, new)
  expect_equal(s$total_points, total)
  fit <- glm(y ~ s100b + age + gender, data = a, family = binomial)
  expect_equal(s$risk, unname(predict(fit, new, type = "response")), tolerance = 1e-6)
})

test_that("formula and default methods agree; bad input is refused", {
  a <- nomogram_data()
  expect_equal(as.data.frame(nomogram(y ~ s100b + age, a)), as.data.frame(nomogram(a, "y", c("s100b", "age"))))
  expect_error(nomogram(a, "y", c("s100b", "nope")), "'nope'")
  expect_error(nomogram_score(data.frame(x = 1), a), "nomogram")
  expect_null(getOption("datadist"))
})

test_that("the nomogram prints its points and draws with rms's plot method", {
  nm <- nomogram(nomogram_data(), "y", c("s100b", "age"))
  expect_output(print(nm), "Nomogram points")
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(nm), nm)
})

test_that("risk-axis labels alternate sides and never overlap on a side", {
  x <- c(0, 10, 11, 12, 13, 14, 40)  # crowded in the middle
  w <- rep(3, length(x))
  sides <- label_sides(x, w, gap = 0.5)
  expect_equal(sides[1:2], c(1, 3))  # room everywhere: below, above in turn
  for (s in c(1, 3)) {
    on <- sort(x[which(sides == s)])
    expect_true(all(diff(on) >= 3 + 0.5))  # centres a width plus the gap apart
  }
  expect_equal(sides, c(1, 3, 1, NA, NA, 3, 1))  # no room for 12 and 13 on either side
  expect_equal(label_sides(c(0, 100), c(5, 5), 1), c(1, 3))
})

test_that("the caller's fun.side is used as given", {
  nm <- nomogram(nomogram_data(), "y", c("s100b", "age"))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(nm, fun.side = rep(3, length(attr(nm, "nomogram")$Risk$which))), nm)
})
