"""``Classifier3D``: the trainable 3D classifier behind a scikit-learn-style interface.

Why an estimator: the deep-feature step of a study is "fit on the training cohort, then
transform every cohort", the same contract as the feature-selection transformers; ``fit``
takes the training volumes and labels (plus the validation cohort for choosing the epoch),
``features`` gives the pooled penultimate activations of any volumes as a Polars table keyed
by ``patient_id`` (columns ``dl3d_0`` ... ``dl3d_<d-1>``), ``predict_proba`` the outcome
probability (the DL signature of the paper). Volumes are prepared once per call (ROI crop,
z-score, resize: ``classify3d.data``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import torch
from rich.console import Console
from sklearn.base import BaseEstimator, ClassifierMixin

from spinedlr.classify3d.data import Volume, stack
from spinedlr.classify3d.network import parameter_count
from spinedlr.classify3d.settings import Classify3DSettings
from spinedlr.classify3d.train import Trainer, infer
from spinedlr.errors import InputError

PREFIX = "dl3d_"


def _labels(y: object, n: int, cohort: str) -> torch.Tensor:
    """Binary 0/1 labels as a float tensor; InputError unless both classes are present."""
    arr = np.asarray(y)
    if arr.shape != (n,) or not np.isin(arr, (0, 1)).all() or len(np.unique(arr)) != 2:
        raise InputError(f"{cohort} labels must be {n} values of 0 and 1 with both classes present")
    return torch.as_tensor(arr, dtype=torch.float32)


class Classifier3D(ClassifierMixin, BaseEstimator):
    """Train a ViT / 3D ResNet on binary outcomes; pooled penultimate features per patient.

    ``out_path``: where the best checkpoint goes (the resumable ``.last.pt`` beside it); a
    later ``fit`` with the same recipe resumes from it. None: nothing is written.
    """

    def __init__(self, settings: Classify3DSettings | None = None, out_path: Path | None = None,
                 console: Console | None = None) -> None:
        self.settings = settings
        self.out_path = out_path
        self.console = console

    def _settings(self) -> Classify3DSettings:
        return self.settings or Classify3DSettings()

    def _inputs(self, volumes: list[Volume]) -> torch.Tensor:
        s = self._settings()
        return stack(list(volumes), s.resolved().input_size, s.margin)

    def fit(self, volumes: list[Volume], y: object,
            val: tuple[list[Volume], object] | None = None) -> Classifier3D:
        """Train on ``volumes``/``y`` (the training cohort); ``val`` = (volumes, labels) of the
        validation cohort, used only to pick the epoch with the best AUC."""
        x = self._inputs(volumes)
        vx = vy = None
        if val is not None:
            vx = self._inputs(val[0])
            vy = _labels(val[1], len(vx), "validation")
        trainer = Trainer(self._settings(), x, _labels(y, len(x), "training"), vx, vy,
                          Path(self.out_path) if self.out_path else None,
                          self.console or Console(stderr=True))
        result = trainer.fit()
        self.net_, self.device_, self.precision_ = trainer.net, trainer.device, trainer.precision
        self.best_epoch_, self.best_auc_, self.history_ = result.best_epoch, result.best_auc, result.history
        self.weights_, self.n_parameters_ = trainer.meta["weights"], parameter_count(trainer.net)
        self.seconds_ = result.seconds
        self.classes_ = np.array([0, 1])
        self.feature_names_ = [f"{PREFIX}{i}" for i in range(trainer.net.feature_dim)]
        return self

    def _infer(self, volumes: list[Volume], what: str) -> torch.Tensor:
        if not hasattr(self, "net_"):
            raise InputError("Classifier3D is not fitted yet: call fit first")
        batch = self._settings().resolved().batch_size
        return infer(self.net_, self._inputs(volumes), batch, self.device_, self.precision_, what)

    def predict_proba(self, volumes: list[Volume]) -> np.ndarray:
        """(n, 2) probabilities of outcome 0 and 1."""
        p = torch.sigmoid(self._infer(volumes, "logits")).numpy().astype(np.float64)
        return np.column_stack([1 - p, p])

    def predict(self, volumes: list[Volume]) -> np.ndarray:
        """Outcome 1 where its probability is at least 0.5."""
        return (self.predict_proba(volumes)[:, 1] >= 0.5).astype(int)

    def features(self, volumes: list[Volume]) -> pl.DataFrame:
        """Pooled penultimate features: ``patient_id`` then ``dl3d_0`` ... (float64)."""
        f = self._infer(volumes, "features").numpy().astype(np.float64)
        table = pl.DataFrame(f, schema=self.feature_names_, orient="row")
        return table.insert_column(0, pl.Series("patient_id", [v.patient_id for v in volumes], pl.String))
