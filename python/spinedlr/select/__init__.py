"""Feature selection and Radscore as scikit-learn transformers."""
