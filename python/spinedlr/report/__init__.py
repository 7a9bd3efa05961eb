"""The Quarto study report."""
