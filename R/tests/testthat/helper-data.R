# Shared test data: pROC's aSAH (outcome Poor = 1) and patients rebuilt from group counts.
asah <- function() {
  e <- new.env()
  utils::data("aSAH", package = "pROC", envir = e)
  a <- e$aSAH
  data.frame(y = as.integer(a$outcome == "Poor"), s100b = a$s100b, ndka = a$ndka, wfns = as.integer(a$wfns),
             age = a$age, gender = a$gender)
}

# One row per patient from a table of counts: `levels` x c(non-event, event) counts.
from_counts <- function(levels, non_events, events) {
  data.frame(
    level = rep(rep(levels, 2), c(non_events, events)),
    y = rep(c(0L, 1L), c(sum(non_events), sum(events))),
    stringsAsFactors = FALSE
  )
}

# The demo cohort's clinical table (python/spinedlr/demo/clinical.py): the reference study's
# Table 1 counts per outcome group (131 without, 39 with recurrence), so segment L3/4 has 6
# patients without events and Modic I one. Types as the evaluate stage passes them to R:
# binary and nominal covariates as factors (config level order, first = reference), ordinal
# ones as their rank, plus a Radscore separating the groups about as well as the study's.
demo_cohort <- function(seed = 1) {
  counts <- list(
    gender = list(c("female", "male"), c(59, 72), c(13, 26)),
    smoking = list(c("no", "yes"), c(98, 33), c(26, 13)),
    diabetes = list(c("no", "yes"), c(106, 25), c(27, 12)),
    hypertension = list(c("no", "yes"), c(83, 48), c(23, 16)),
    vas_pre = list(1:6, c(1, 5, 62, 53, 6, 4), c(0, 3, 17, 15, 4, 0)),
    vas_post = list(1:2, c(103, 28), c(31, 8)),
    occupation = list(c("office_worker", "laborer", "farmer", "self_employed"), c(47, 11, 57, 16), c(16, 4, 15, 4)),
    pfirrmann = list(1:3, c(49, 68, 14), c(15, 20, 4)),
    modic = list(c("normal", "I", "II", "III"), c(36, 1, 83, 11), c(9, 0, 24, 6)),
    herniation_type = list(c("bulge", "herniation", "prolapse"), c(19, 99, 13), c(7, 31, 1)),
    segment = list(c("L3/4", "L4/5", "L5/S1"), c(6, 85, 40), c(0, 22, 17))
  )
  set.seed(seed)
  y <- rep(c(0L, 1L), c(131, 39))
  d <- data.frame(recurrence = y)
  d$age <- round(c(rnorm(131, 58.27, 14.64), rnorm(39, 59.00, 13.64)))
  d$bmi <- round(c(rnorm(131, 24.44, 3.46), rnorm(39, 25.37, 3.12)), 1)
  d$duration <- round(rlnorm(170, 0.78, 1.03), 1) + 0.1
  for (v in names(counts)) {
    lv <- counts[[v]][[1]]
    x <- c(sample(rep(lv, counts[[v]][[2]])), sample(rep(lv, counts[[v]][[3]])))
    d[[v]] <- if (is.numeric(lv)) as.integer(x) else factor(x, levels = lv)
  }
  d$radscore_disc <- -1.95 + 2.3 * y + rnorm(170, 0, 1.6)
  d
}

demo_covariates <- c("age", "gender", "bmi", "smoking", "duration", "diabetes", "hypertension", "vas_pre",
                     "vas_post", "occupation", "pfirrmann", "modic", "herniation_type", "segment")
