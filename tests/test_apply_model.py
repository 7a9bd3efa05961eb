"""The frozen model `spinedlr apply` scores with: read back from `select`'s outputs, it gives
the fitted study's own probabilities from the stored features, for any subset of patients.

Independent references: the select stage's Radscores (radscores.parquet), the logistic
function by hand, and the scikit-learn pipeline refitted with the same seed.
"""

import json

import numpy as np
import polars as pl
import pytest
from test_select_stage import write_study

from spinedlr.apply_model import MODEL_FILE, PREDICTIONS_FILE, load_frozen
from spinedlr.config import load_study
from spinedlr.errors import InputError
from spinedlr.select import stage
from spinedlr.select.pipeline import roi_pipeline
from spinedlr.select.tables import read_long, to_wide


@pytest.fixture(scope="module", params=["union", "concat"])
def fitted(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    write_study(root, n=90, events=30, select={"fusion": request.param, "validation_folds": 0})
    study = load_study(root)
    stage.run(study)
    return study


def _stored_wides(study, model, ids=None):
    """The modelled rater's stored features, one wide table per ROI (as `apply` builds them)."""
    out = {}
    for roi in model.formulas:
        wide = None
        for fam in ("radiomics", "deep"):
            path = study.output / "features" / f"{fam}.parquet"
            w = to_wide(read_long(path), roi, model.rater, path)
            wide = w if wide is None else wide.join(w, on="patient_id")
        if ids is not None:
            wide = wide.filter(pl.col("patient_id").is_in(ids))
        out[roi] = wide.select("patient_id", *model.features(roi))
    return out


def test_frozen_model_reproduces_the_fitted_probabilities_exactly(fitted):
    model = load_frozen(fitted)
    got = model.predict(_stored_wides(fitted, model))
    own = pl.read_parquet(fitted.output / PREDICTIONS_FILE)
    assert got.columns == ["patient_id", "prob_0", "prob_1", "predicted"]
    assert got["patient_id"].to_list() == own["patient_id"].to_list()
    assert np.array_equal(got["prob_1"].to_numpy(), own["prob_1"].to_numpy())
    # the combined Radscore is the log-odds: the probability is its logistic function
    rs = own.join(pl.read_parquet(fitted.output / "radscores.parquet"), on="patient_id")
    expected = 1 / (1 + np.exp(-rs["radscore_combined"].to_numpy()))
    np.testing.assert_allclose(rs["prob_1"].to_numpy(), expected, rtol=1e-13)
    np.testing.assert_allclose(rs["prob_0"] + rs["prob_1"], 1.0, rtol=0, atol=1e-15)
    assert rs["predicted"].to_list() == ["1" if p > 0.5 else "0" for p in expected]


def test_a_small_cohort_is_scored_with_the_training_statistics(fitted):
    """Scoring 7 patients alone gives their fitted probabilities: re-standardising the new
    cohort with its own means and SDs (or refitting a PCA on it) would change them."""
    model = load_frozen(fitted)
    own = pl.read_parquet(fitted.output / PREDICTIONS_FILE)
    ids = own["patient_id"].to_list()[5:12]
    got = model.predict(_stored_wides(fitted, model, ids))
    want = own.filter(pl.col("patient_id").is_in(ids))
    assert got["patient_id"].to_list() == want["patient_id"].to_list()
    # equal up to the last bits of a matrix product over 7 rows instead of 90
    np.testing.assert_allclose(got["prob_1"].to_numpy(), want["prob_1"].to_numpy(), rtol=1e-13)


def test_radscore_equals_the_refitted_pipeline(fitted):
    """The written Radscore is the fitted chain's own decision function on the raw features.
    With ``fusion: concat`` the chain z-scores before the Radscore: a formula that kept the
    Radscore's means and SDs of z-scores would be off by whole units on raw features."""
    s = fitted.config.select
    scores = pl.read_parquet(fitted.output / "radscores.parquet")
    paths = {f: fitted.output / "features" / f"{f}.parquet" for f in ("radiomics", "deep")}
    longs = {f: (read_long(p), p) for f, p in paths.items()}
    data, fams, icc = stage._roi_data(fitted, longs, "disc", scores.select("patient_id", "outcome"), [])
    names = [n for f in fams.values() for n in f]
    cols, start = {}, 0
    for fam, f in fams.items():
        cols[fam], start = list(range(start, start + len(f))), start + len(f)
    X = data.select(names).to_numpy()
    pipe = roi_pipeline(s, fitted.config.seed + s.seed_offset, cols, icc).fit(X, data["outcome"].to_numpy())
    got = data.select("patient_id").join(scores, on="patient_id", maintain_order="left")
    np.testing.assert_allclose(got["radscore_disc"].to_numpy(), pipe.decision_function(X),
                               rtol=1e-10, atol=1e-10)


def test_model_record_says_what_was_fitted(fitted):
    rec = json.loads((fitted.output / MODEL_FILE).read_text())
    assert rec["outcome"] == {"column": "recurrence", "kind": "binary", "classes": ["0", "1"]}
    assert rec["unit_keys"] == ["patient_id"] and rec["rater"] == "rater1"
    assert rec["rois"] == {"disc": "radscore_disc_fused.json", "muscle": "radscore_muscle_fused.json"}
    assert rec["combined"] == "radscore_combined.json" and rec["calibration"] == "none"
    assert set(rec["fingerprint"]) == {"disc", "muscle"}


def test_unfitted_or_damaged_study_is_one_clear_error(tmp_path):
    write_study(tmp_path, n=40, events=12)
    study = load_study(tmp_path)
    with pytest.raises(InputError, match="no fitted model yet; run `spinedlr run"):
        load_frozen(study)
    (study.output / "selection").mkdir()
    (study.output / MODEL_FILE).write_text("{not json")
    with pytest.raises(InputError, match="unreadable model record"):
        load_frozen(study)
    (study.output / MODEL_FILE).write_text(json.dumps({"version": 1, "kind": "radscore",
                                                       "calibration": "none"}))
    with pytest.raises(InputError, match="incomplete model record"):
        load_frozen(study)
