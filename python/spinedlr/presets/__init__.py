"""Study presets: the names and defaults of a published study, as plain data.

Code never names a study's ROIs, scores or covariates; a preset does, and the settings models
take their defaults from it (``spinedlr.presets.reference`` is the reference study's).
Presets are plain dicts and tuples, validated where they are used, so importing one never
imports the settings models (no import cycle).
"""
