"""Clinical statistics through the R package (rpy2)."""
