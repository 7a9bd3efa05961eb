"""Every random step's seed, derived from the study seed in one table.

Why one table: each stage used to add its own offset to the study seed in its own module
(segmentation +3000, deep-feature clustering +4, selection +5, the pAUC bootstrap +1…), so
whether two steps shared a random stream could only be checked by reading five modules. The
offsets below are exactly those, so every number a study computed before stays the same.

``stage_seed(study, "select")`` is the seed of one step; steps that draw several streams
(segmentation trains one network per ROI) add their own index on top, documented where used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from spinedlr.config import Study

SEED_OFFSETS: dict[str, int | Callable[["Study"], int]] = {
    "deep": 0,  # torch's generator before deep features and Grad-CAM (not used by eval nets)
    "evaluate": 0,  # the R bootstraps of internal validation
    "evaluate.pauc": 1,  # the pAUC comparison's bootstrap
    "evaluate.calibration": 2,  # rms::calibrate's bootstrap
    "deep_selection": 4,  # k-means of the deep-feature selection module
    "select": lambda study: study.config.select.seed_offset,  # 5 unless configured
    "segment": 3000,  # the training subset, and (+101 x ROI index) each ROI's network
    "backbone": 0,  # random initialisation of a pretrained backbone given no weights
    "compare": 6,  # the classifier comparison's folds, searches and classifiers
    "grading": 0,  # the grading stage: splits, models, bootstraps, ResNet50 init (= bench/spider.py)
    "fusion": 0,  # the fusion stage: split, 3D networks, selection folds, classifiers
}
"""Offset of each step's seed from the study seed."""

SEGMENT_ROI_STRIDE = 101
"""Segmentation trains the i-th ROI's network from ``stage_seed(study, "segment") + 101 * i``."""

FUSION_FOLD_STRIDE = 1000
"""The fusion stage trains the i-th deep ROI's network from ``stage_seed(study, "fusion") + i``
and, for the out-of-fold DL signature, its fold-k network (k = 1..K) from that + 1000 * k."""


def stage_seed(study: "Study", step: str) -> int:
    """The seed of one random step of the study (a KeyError names the known steps)."""
    try:
        offset = SEED_OFFSETS[step]
    except KeyError:
        raise KeyError(f"no seed for step {step!r}; known steps: {sorted(SEED_OFFSETS)}") from None
    return study.config.seed + (offset(study) if callable(offset) else offset)
