"""External validation: the frozen model scored on another cohort (spinedlr.external.stage)."""
