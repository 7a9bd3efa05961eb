"""Feature extraction: PyRadiomics and deep features into Polars tables."""
