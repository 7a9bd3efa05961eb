"""Python bridge to the R package `spinedlr` (rpy2): Polars in, Polars out."""
