"""Feature extraction: PyRadiomics and deep features into Polars tables.

Handcrafted (``spinedlr extract radiomics`` / ``stage.run``)
------------------------------------------------------------
- Parameters: a PyRadiomics YAML file (``extract.params``; default ``params/reference.yaml``:
  14 shape + 93 x 13 images = 1,223 features for a 3D ROI). Overrides recorded in the settings
  hash: ``crop_to_roi`` (PyRadiomics ``preCrop``), ``log_sigmas`` (+93 features per sigma),
  ``bin_width``, ``resampled_spacing``, ``normalize``. 2D ROIs (``dim: 2D``) use ``shape2D``
  (9 features in PyRadiomics 3.1) and ``force2D`` along the ROI's ``slice_axis``.
- Cropping trade-off: with ``crop_to_roi: false`` (reference) filters run on the whole image,
  as the study did. ``true`` crops to the ROI + padDistance (5 voxels) first: ~3x faster on
  the 67x221x221 disc volumes here (7-12x on larger images), identical shape and
  original-image features, but different wavelet/LoG features (borders) and square, square
  root, logarithm and exponential features (they rescale by the image maximum, which becomes
  the crop's maximum). Note: when ``resampled_spacing`` is set PyRadiomics always crops
  (its resampling step crops to the ROI + padDistance).
- Labels: ``combine: union`` binarises all of the ROI's configured labels to 1 (table ``roi`` =
  the ROI name); ``combine: each`` extracts one ROI per label, named ``<roi>:<label name>``
  (e.g. ``muscle:psoas_left``). Labels not configured for the ROI are ignored here
  (``spinedlr validate`` reports them).
- Tasks = (patient, ROI unit, rater). Executors: serial (``runtime.workers: 1``), a spawn process pool
  (``--workers N``), or Dask distributed (``--scheduler tcp://HOST:PORT`` or
  ``runtime.scheduler: dask://HOST:PORT``). Every task runs SimpleITK/BLAS single-threaded, so results
  do not depend on the executor and N workers do not oversubscribe N cores. Scripts that call
  ``run`` with ``runtime.workers`` > 1 need the usual ``if __name__ == "__main__":`` guard (spawn).
- Cache: ``features/cache/radiomics/<key>.{json,parquet}``, key = SHA-256 of image bytes, mask
  bytes, labels, effective parameters and PyRadiomics version; written atomically per task as
  it finishes, so a killed run loses only tasks in flight and a re-run skips finished ones.
- Failures: recorded in ``features/failures.parquet`` with the reason; the rest complete; the
  run raises ExtractionFailed (CLI exit 1 with a summary) unless ``--keep-going``.
- IBSI: see tests/test_extract_ibsi.py — on the IBSI digital phantom (bin width 1) every
  mapped PyRadiomics feature matches the IBSI consensus value within tolerance, except the
  documented conventions: kurtosis (PyRadiomics: not excess, +3), Major/Minor/Least axis
  length (PyRadiomics: sample covariance, factor sqrt((N-1)/N)); GLDM DependencePercentage is
  not computed; SumVariance, Dissimilarity and GLDM normalised GLNU are computed under other
  names (ClusterTendency, DifferenceAverage, first-order Uniformity).

Deep (``spinedlr extract deep`` / ``deep_stage.run_deep``)
----------------------------------------------------------
See ``deep.py`` (crop, resize, min-max, down4 GAP, largest-area slice or mean),
``deep_selection.py`` (the study's selection module, made precise) and ``gradcam.py``.

Configured extractors (``extract.extractors`` / ``configured.extract_configured``)
---------------------------------------------------------------------------------
``extractors.py`` is the one interface (``FeatureExtractor.extract(Region) -> features``)
for PyRadiomics in 2D or 3D, the segmentation network's deep features and pretrained
backbones (``backbones.py``: MONAI ResNet50 / ResNeXt50-32x4d 2D, ResNet18/50 3D, ViT-B/16
2D/3D; torchvision is not a dependency, its compiled ops do not load with the CPU torch).
``configured.py`` runs the configured entries over units x ROIs x images x raters, including
whole-image ROIs and optional images; the reference pipeline's stages do not call it yet.
"""
