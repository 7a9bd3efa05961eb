"""Study design as data: outcome kind, unit of analysis, validation scheme, models, calibration.

Why a package of its own: the reference study hard-wires one design (binary outcome, one row
per patient, internal resampling, a Radscore logistic regression). The other studies differ
exactly along these axes, so each axis is a validated settings block (``settings``) plus a
tested building block (``outcome``, ``units``, ``splits``, ``models``, ``calibration``) that
the stages compose, and ``support`` says which stage cannot yet run a configured axis.
"""
