"""spinedlr: deep-learning-radiomics studies on spine imaging."""

__version__ = "0.1.0"
