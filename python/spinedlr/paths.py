"""Where every output of a study lives: one object owns the output folder's layout.

Why one object: the same file (``radscores.parquet``, ``stats/table2.parquet``…) is written
by one stage and read by several others, the report and the export; spelling its path in each
of them is how a rename breaks a reader silently. The layout is written once here, relative to
the output folder (what the pipeline's stage specs declare and hash), and ``StudyPaths``
turns it into absolute paths under any root — the output folder itself, or the private
staging folder a stage writes into before its outputs move into place as one set
(``spinedlr.outputs.staged``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spinedlr.outputs import inside

# The layout, relative to the output folder (stage specs declare their outputs with these).
FEATURES = "features"
RADIOMICS = "features/radiomics.parquet"
DEEP = "features/deep.parquet"
SELECTION = "selection"
RADSCORES = "radscores.parquet"
MODEL_RECORD = "selection/model.json"
FITTED_PREDICTIONS = "selection/predictions.parquet"
APPLY = "apply"
EXTERNAL = "external"
EXTERNAL_COHORT = "apply/external"
STATS = "stats"
SEGMENTATION = "segmentation"
MODELS = "models"
MASKS = "masks"
FIGURES = "figures"
REPORT = "report"
EXPORT = "export"
CACHE = ".cache"
PROVENANCE = "provenance.json"
GRADING = "grading"
COMPARE = "compare"
FUSION = "fusion"
CLASSIFY3D_MODELS = "models3d"


@dataclass(frozen=True)
class StudyPaths:
    """Absolute paths of a study's outputs under ``root`` (refused if a name would leave it)."""

    root: Path

    def under(self, root: Path) -> "StudyPaths":
        """The same layout under another root (a stage's staging folder)."""
        return StudyPaths(Path(root))

    def at(self, *parts: str | Path) -> Path:
        """Any path inside the root; InputError if the parts (e.g. a patient ID) would leave it."""
        return inside(self.root, *parts)

    # features (extract stage)
    @property
    def features(self) -> Path:
        return self.at(FEATURES)

    def feature_table(self, name: str) -> Path:
        """``features/<name>.parquet``: radiomics, deep, deep_all, diagnostics, failures…"""
        return self.at(FEATURES, f"{name}.parquet")

    @property
    def radiomics(self) -> Path:
        return self.at(RADIOMICS)

    @property
    def deep(self) -> Path:
        return self.at(DEEP)

    @property
    def radiomics_cache(self) -> Path:
        return self.at(FEATURES, "cache", "radiomics")

    def gradcam(self, folder: str, patient_id: str) -> Path:
        return self.at(FIGURES, "gradcam", folder, f"{patient_id}.png")

    # segmentation
    @property
    def segmentation(self) -> Path:
        return self.at(SEGMENTATION)

    @property
    def segmentation_metrics(self) -> Path:
        return self.at(SEGMENTATION, "metrics.parquet")

    def model(self, roi: str) -> Path:
        return self.at(MODELS, f"{roi}.pt")

    def mask(self, roi: str, patient_id: str) -> Path:
        return self.at(MASKS, roi, f"{patient_id}.nii.gz")

    @property
    def masks(self) -> Path:
        return self.at(MASKS)

    # selection
    @property
    def selection(self) -> Path:
        return self.at(SELECTION)

    def selection_file(self, name: str) -> Path:
        """``selection/<name>`` (steps.parquet, icc.parquet, validation.parquet, details.json…)."""
        return self.at(SELECTION, name)

    def formula(self, score: str) -> Path:
        """``selection/<score>.json`` of a Radscore column (e.g. radscore_<roi>_<family>)."""
        return self.at(SELECTION, f"{score}.json")

    @property
    def radscores(self) -> Path:
        return self.at(RADSCORES)

    @property
    def model_record(self) -> Path:
        """The frozen model `spinedlr apply` reads (formulas, coding, extraction fingerprint)."""
        return self.at(MODEL_RECORD)

    @property
    def fitted_predictions(self) -> Path:
        """The fitted model's predictions for its own units (what apply must reproduce)."""
        return self.at(FITTED_PREDICTIONS)

    @property
    def apply(self) -> Path:
        return self.at(APPLY)

    def apply_cohort(self, name: str) -> Path:
        """``apply/<name>/``: a scored cohort's own extraction, never the study's tables."""
        return self.at(APPLY, name)

    # grading stage (multi-class per-unit design)
    @property
    def grading(self) -> Path:
        return self.at(GRADING)

    def grading_table(self, name: str) -> Path:
        """``grading/<name>.parquet``: cohort, cv_folds, holdout, loso and the test split's
        test_predictions, confusion, roc, reliability."""
        return self.at(GRADING, f"{name}.parquet")

    @property
    def grading_summary(self) -> Path:
        return self.at(GRADING, "summary.json")

    @property
    def grading_model(self) -> Path:
        """The frozen grading model's record (``model.json``; the estimator is beside it)."""
        return self.at(GRADING, "model.json")

    @property
    def grading_cache(self) -> Path:
        """Cached per-disc features (not hashed as an output: ``cache`` parts are skipped)."""
        return self.at(GRADING, "cache")

    # external validation (the external stage)
    @property
    def external(self) -> Path:
        """``external/``: the external cohort's predictions and statistics."""
        return self.at(EXTERNAL)

    # classifier comparison and nomogram (the compare stage)
    @property
    def compare(self) -> Path:
        """``compare/``: classifiers x feature sets, clinical selection, nomogram, centres."""
        return self.at(COMPARE)

    def compare_table(self, name: str) -> Path:
        """``compare/<name>.parquet`` (classifiers, vote, delong, nomogram_points…)."""
        return self.at(COMPARE, f"{name}.parquet")

    # evaluation, report, export
    @property
    def stats(self) -> Path:
        return self.at(STATS)

    def stats_table(self, name: str, suffix: str = ".parquet") -> Path:
        return self.at(STATS, f"{name}{suffix}")

    @property
    def report(self) -> Path:
        return self.at(REPORT)

    @property
    def report_html(self) -> Path:
        return self.at(REPORT, "study.html")

    @property
    def export(self) -> Path:
        return self.at(EXPORT)

    # bookkeeping
    @property
    def provenance(self) -> Path:
        return self.at(PROVENANCE)

    def provenance_of(self, folder: str) -> Path:
        """``<folder>/provenance.json`` of a stage's folder (selection, stats, segmentation)."""
        return self.at(folder, PROVENANCE)

    def record(self, stage: str) -> Path:
        """The pipeline's run record of a stage (its key and its outputs' hashes)."""
        return self.at(CACHE, f"{stage}.json")

    @property
    def validate_cache(self) -> Path:
        return self.at(CACHE, "validate")
