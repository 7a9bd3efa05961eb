"""Synthetic demo study: plausible lumbar MRI, two raters' masks, Table 1 covariates, outcome.

Why a synthetic study: real cohorts with outcomes cannot be shipped, yet every stage of the
pipeline (and every test of it) needs a complete study whose ground truth is known. The
latent model (see :mod:`spinedlr.demo.outcome`) says what a correct pipeline must recover.
"""
