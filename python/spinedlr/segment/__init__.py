"""Segmentation: UCTransNet training, prediction and evaluation.

Modules, by what they do:
- ``model``: the network (``UCTransNet``, ``ModelConfig``); ``model.features_down4(x)`` gives
  the fourth down-sampling activation (deep features), ``model.gradcam_layer`` the module to
  hook for Grad-CAM.
- ``checkpoint``: ``load_model(path) -> (model, meta)`` (``weights_only=True``), saving.
- ``data``: reading/checking cases, normalisation, slicing along ``roi.slice_axis``,
  aspect-keeping resize + pad, augmentation without left/right flips.
- ``train``: ``Trainer`` (setup, build, resume, run_epoch, validate, maybe_save, should_stop)
  and ``train_model`` (Adam, best-on-validation, resumable, seeded); its parts:
  ``losses`` (CE/BCE + soft Dice), ``schedule`` (poly / constant learning rate),
  ``train_metrics`` (hard Dice of the validation pass), ``steps`` (``train_step``, one
  validation pass), ``split`` (training / validation slices), ``resume`` (the ``.last.pt``
  checkpoint and when it may be resumed), ``runtime`` (device and torch threads).
  ``steps``, ``losses``, ``model``, ``precision``, ``runtime`` and ``settings`` need only
  torch and pydantic (the throughput benchmark runs them without the imaging stack).
- ``predict``: ``predict_volume`` (original geometry, optional largest component per label).
- ``precision``: the ``precision`` setting (fp32 / bf16 / fp16 / auto) for every network run.
- ``numbering``: number the components of a one-class prediction by position (disc levels).
- ``metrics``: Dice and HD95 (mm) per case and label.
- ``stage``: ``run(study)`` and its parts (train, predict, evaluate) for a whole study.
- ``settings``: the ``segment:`` section of study.yaml and the ``cpu`` / ``paper`` presets.
- ``sample_data``: the real spine MRI sample used by the test and bench/segment.py.
"""
