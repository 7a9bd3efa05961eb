"""Real MRI (../shared/data/spine_mri): a short training run must learn something real.

Muscles: trained on the cranial block of the Dixon volume (water + fat channels), tested on
the caudal block the network never saw. A few epochs at 64 px only: the assertions are that
the loss falls and that Dice on unseen slices is far above chance (a random labelling scores
<= 0.03 per muscle here); the full-length run with its targets is bench/segment.py.
"""

import numpy as np
import pytest
import SimpleITK as sitk

from spinedlr.segment import sample_data
from spinedlr.segment.checkpoint import load_model
from spinedlr.segment.metrics import evaluate_case
from spinedlr.segment.predict import predict_volume
from spinedlr.segment.settings import SegmentSettings
from spinedlr.segment.train import train_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared,
    pytest.mark.skipif(not sample_data.available(), reason="../shared/data/spine_mri not present"),
]


def test_muscle_training_learns_on_unseen_slices(tmp_path):
    train, test = sample_data.muscle_blocks()
    settings = SegmentSettings(epochs=30, img_size=64, base_channel=8, batch_size=2, lr=3e-3)
    res = train_model(
        [train], roi="muscle", labels=sample_data.MUSCLE_LABELS, slice_axis=0,
        settings=settings, seed=1, out_path=tmp_path / "m.pt", resume=False,
    )
    losses = [h["train_loss"] for h in res.history]
    assert losses[-1] < 0.8 * losses[0]
    val = [h["val_dice"] for h in res.history]
    assert res.best_dice > val[0] + 0.1
    model, meta = load_model(tmp_path / "m.pt")
    pred = sitk.GetArrayFromImage(predict_volume(model, meta, test.image, test.reference))
    rows = evaluate_case("tum01", "muscle", pred, test.mask, sample_data.MUSCLE_LABELS,
                         test.reference.GetSpacing())
    dice = np.array([r["dice"] for r in rows])
    # chance: a labelling with the right class sizes placed at random overlaps by ~area share
    share = np.array([(test.mask == k).mean() for k in sorted(sample_data.MUSCLE_LABELS)])
    assert share.max() < 0.03
    # at least one muscle well learnt (>20x chance), and the four together well above chance
    assert dice.max() > 0.6 and dice.mean() > 0.15, dice


def test_disc_levels_are_found_and_numbered_on_an_unseen_patient(tmp_path):
    """Discs: one class learnt on two patients, levels numbered by position on the third."""
    train, test = sample_data.disc_cases()
    settings = SegmentSettings(epochs=12, img_size=64, base_channel=8, batch_size=8, lr=3e-3)
    res = train_model(
        train, roi="disc", labels=sample_data.DISC_LABELS, slice_axis=0, settings=settings,
        seed=1, out_path=tmp_path / "d.pt", resume=False, number_by_position=sample_data.DISC_NUMBERING,
    )
    assert res.history[-1]["train_loss"] < 0.8 * res.history[0]["train_loss"]
    model, meta = load_model(tmp_path / "d.pt")
    assert model.config.n_classes == 1 and meta["number_by_position"]["first"] == "end"
    pred = sitk.GetArrayFromImage(predict_volume(model, meta, test.image, test.reference))
    rows = evaluate_case("case25", "disc", pred, test.mask, sample_data.DISC_LABELS,
                         test.reference.GetSpacing())
    dice = np.array([r["dice"] for r in rows])
    # each disc holds < 0.3 % of the volume: chance overlap is ~0; a miscounted level scores ~0
    assert dice.min() > 0.3, dice
