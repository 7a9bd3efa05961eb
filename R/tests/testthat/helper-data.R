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
