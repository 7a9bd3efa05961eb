# Runs the testthat suite under R CMD check (the development run is scripts/test_r.R).
library(testthat)
library(spinedlr)

test_check("spinedlr")
