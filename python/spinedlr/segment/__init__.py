"""Segmentation: UCTransNet training, prediction and evaluation.

Modules, by what they do:
- ``model``: the network (``UCTransNet``, ``ModelConfig``); ``model.features_down4(x)`` gives
  the fourth down-sampling activation (deep features), ``model.gradcam_layer`` the module to
  hook for Grad-CAM.
- ``checkpoint``: ``load_model(path) -> (model, meta)`` (``weights_only=True``), saving.
- ``data``: reading/checking cases, normalisation, slicing along ``roi.slice_axis``,
  aspect-keeping resize + pad, augmentation without left/right flips.
- ``train``: ``train_model`` (CE/BCE + Dice, Adam, best-on-validation, resumable, seeded).
- ``predict``: ``predict_volume`` (original geometry, optional largest component per label).
- ``precision``: the ``precision`` setting (fp32 / bf16 / fp16 / auto) for every network run.
- ``numbering``: number the components of a one-class prediction by position (disc levels).
- ``metrics``: Dice and HD95 (mm) per case and label.
- ``stage``: ``run(study)`` and its parts (train, predict, evaluate) for a whole study.
- ``settings``: the ``segment:`` section of study.yaml and the ``cpu`` / ``paper`` presets.
- ``sample_data``: the real spine MRI sample used by the test and bench/segment.py.
"""
