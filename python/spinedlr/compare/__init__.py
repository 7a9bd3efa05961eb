"""Classifier comparison across feature sets (Fan et al. 2024; Zou et al. 2025).

Public API
----------
* ``grid.compare_classifiers`` — every classifier x every feature set: patient-grouped,
  stratified k-fold CV with the selection chain and the classifier's grid search refitted
  inside each outer training fold; out-of-fold AUC with DeLong CI (R ``roc_summary``); with an
  external cohort, the model refitted on all training rows and scored there. Returns a
  ``Comparison`` (Polars tables: ``summary``, ``predictions``, ``vote``, ``delong``).
* ``vote.top_k_vote`` — the top-3 vote across feature sets (ties: mean AUC, then name).
* ``delong.delong_matrix`` — pairwise paired-DeLong P values (R ``compare_auc``), symmetric,
  diagonal null.
* ``readers.model_vs_raters`` / ``readers.rater_agreement`` — the model against surgeons
  (Zou et al.): R ``rater_comparison`` with each reader's AUC, and pairwise Cohen's kappa.

* ``stage.SPEC`` — the compare stage of ``spinedlr run`` (when ``design.models`` lists
  classifiers): the comparison on the select stage's feature sets (``features``), clinical
  factors and the nomogram (``dlrn``) and the demo's latent truth beside it (``truth``).
"""

from spinedlr.compare.delong import delong_matrix
from spinedlr.compare.grid import Cohort, Comparison, compare_classifiers
from spinedlr.compare.readers import model_vs_raters, rater_agreement
from spinedlr.compare.vote import top_k_vote

__all__ = ["Cohort", "Comparison", "compare_classifiers", "delong_matrix", "model_vs_raters",
           "rater_agreement", "top_k_vote"]
