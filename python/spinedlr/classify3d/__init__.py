"""A trainable 3D image classifier whose pooled penultimate layer gives deep features.

Zou et al. 2025 (issue 17) train a ViT-3D on their binary outcome and take each patient's
pooled penultimate activation as deep features. This package does that with MONAI networks
(``vit``, or ``resnet3d`` as the CPU-friendly alternative), training on the training cohort
only and choosing the epoch by validation AUC; see ``estimator.Classifier3D``.

The estimator and data classes load on first use: the study configuration imports
``classify3d.settings`` (the ``fusion.classify3d`` section), which must not pull in torch.
"""

from importlib import import_module

from spinedlr.classify3d.settings import Classify3DSettings

_LAZY = {"Classifier3D": "spinedlr.classify3d.estimator", "Volume": "spinedlr.classify3d.data"}

__all__ = ["Classifier3D", "Classify3DSettings", "Volume"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
