"""Multi-class disc grading (Pfirrmann 1-5) on the SPIDER 2D crops (issue 15).

``features`` loads, normalises and segments the crops and extracts the feature families,
``fit`` builds the models (selection and tuning inside training folds), ``metrics`` calls the
R package's multi-class metrics, ``holdout`` runs the 60/20/20 hold-out, patient-grouped CV
and leave-one-scanner-out. ``bench/spider.py`` runs all of it on the shared data.
"""
