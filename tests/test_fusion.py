"""The fusion stage's parts (issue 17): cohorts, train-only fitting, design support.

The leakage tests follow tests/test_select_leakage.py: a step that saw validation or test
rows would change when only those rows change, and on pure noise an honestly fitted model
predicts nothing on the held-out cohorts.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from spinedlr.config import Study
from spinedlr.demo.zou2025 import zou_config
from spinedlr.design import settings as ds
from spinedlr.design.support import fixed_split, unsupported_fusion
from spinedlr.errors import InputError
from spinedlr.fusion.clinical import clinical_terms
from spinedlr.fusion.cohorts import assign_cohorts, cohort_table
from spinedlr.fusion.features import feature_counts
from spinedlr.fusion.model import fit_models
from spinedlr.fusion.settings import FusionSettings
from spinedlr.pipeline import STAGES
from spinedlr.stats import fast_auc

FAST = FusionSettings(cv_folds=3, lasso_folds=3, signature_folds=3, deep_pca=4)


def _cohort(seed: int, n: int = 90, events: int = 30):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, events, replace=False)] = 1
    ids = [f"P{i:03d}" for i in range(n)]
    return ids, y, rng


def _fit(features, clinical, y, train, models=("lr",)):
    return fit_models(features, clinical, y, train, FAST, list(models), {}, 2, seed=0)


def _inputs(rng, y, signal: float):
    n = len(y)
    rad = rng.normal(size=(n, 40))
    rad[:, :3] += signal * y[:, None]
    deep = rng.normal(size=(n, 12))
    deep[:, 0] += signal * y
    names = [f"roi{i % 2}__img{i % 3}__f{i}" for i in range(40)]
    return ({"radiomics": pl.DataFrame(rad, schema=names),
             "deep": pl.DataFrame(deep, schema=[f"roi0__dl3d_{i}" for i in range(12)])},
            pl.DataFrame({"age": rng.normal(60, 9, n)}))


def test_fixed_split_is_stratified_by_patient_and_seeded() -> None:
    ids, y, _ = _cohort(0, n=200, events=50)
    v = ds.Fixed(scheme="fixed", train=0.7, validation=0.2, test=0.1)
    a = assign_cohorts(ids, y, v, seed=3)
    assert a.equals(assign_cohorts(ids, y, v, seed=3))
    assert not a.equals(assign_cohorts(ids, y, v, seed=4))
    counts = a.group_by("cohort").agg(pl.len(), pl.col("outcome").sum()).sort("cohort")
    got = {r["cohort"]: (r["len"], r["outcome"]) for r in counts.iter_rows(named=True)}
    # each class cut 7:2:1 on its own (50 events: 35/10/5; 150 others: 105/30/15)
    assert got == {"training": (140, 35), "validation": (40, 10), "test": (20, 5)}
    assert a["patient_id"].n_unique() == 200


def test_split_by_centre_follows_the_column_and_refuses_one_class_test() -> None:
    ids, y, _ = _cohort(1, n=60, events=20)
    centre = ["a"] * 30 + ["b"] * 20 + ["c"] * 10
    v = ds.ByColumn(scheme="by_column", column="centre",
                    roles={"a": "train", "b": "validation", "c": "test"})
    y[50:] = [1, 0, 0, 1, 0, 1, 0, 0, 0, 1]
    a = assign_cohorts(ids, y, v, seed=0, column=centre)
    assert a["cohort"].to_list() == ["training"] * 30 + ["validation"] * 20 + ["test"] * 10
    summary = cohort_table(a, centre)
    assert summary.select("cohort", "centre", "n").rows() == [
        ("training", "a", 30), ("validation", "b", 20), ("test", "c", 10)]
    y[50:] = 0
    with pytest.raises(InputError, match="test cohort"):
        assign_cohorts(ids, y, v, seed=0, column=centre)


def test_feature_counts_per_roi_and_image() -> None:
    names = ["vb__ct__a", "vb__ct__b", "vb__t1__a", "disc__t2__a"]
    counts = feature_counts(names, ["vb__ct__b", "disc__t2__a"])
    assert counts.rows() == [("vb", "ct", 2, 1), ("vb", "t1", 1, 0), ("disc", "t2", 1, 1)]


def test_every_step_is_fitted_on_the_training_cohort_only() -> None:
    """Replacing every validation and test row (features, clinical values and outcomes)
    changes nothing that was fitted: selected features, the comparison, every training
    patient's signature and model score."""
    ids, y, rng = _cohort(2)
    train = np.zeros(len(y), dtype=bool)
    train[rng.permutation(len(y))[:60]] = True
    features, clinical = _inputs(rng, y, signal=1.0)
    base = _fit(features, clinical, y, train)
    other = np.random.default_rng(99)
    held = ~train
    swapped = {k: v.with_columns([pl.when(pl.Series(held)).then(pl.Series(other.normal(size=len(y)) * 5))
                                  .otherwise(pl.col(c)).alias(c) for c in v.columns])
               for k, v in features.items()}
    clin2 = clinical.with_columns(pl.when(pl.Series(held)).then(pl.lit(99.0)).otherwise(pl.col("age")).alias("age"))
    y2 = np.where(held, 1 - y, y)
    moved = _fit(swapped, clin2, y2, train)
    assert moved.selected == base.selected and base.selected["radiomics"]
    assert moved.comparison.summary.equals(base.comparison.summary)
    assert moved.params == base.params
    for m in ("rad_sign", "dl_sign", "clinical", "combined"):
        np.testing.assert_array_equal(moved.scores[m].to_numpy()[train], base.scores[m].to_numpy()[train])
        assert not np.allclose(moved.scores[m].to_numpy()[held], base.scores[m].to_numpy()[held]), m


def test_on_pure_noise_the_held_out_auc_is_chance() -> None:
    """Selecting on every patient first would make noise look predictive; fitted on the
    training cohort alone, the held-out AUC of the combined model stays near 0.5."""
    aucs = []
    for seed in (3, 4, 5):
        ids, y, rng = _cohort(seed, n=120, events=40)
        train = np.zeros(len(y), dtype=bool)
        train[rng.permutation(len(y))[:80]] = True
        features, clinical = _inputs(rng, y, signal=0.0)
        fit = _fit(features, clinical, y, train)
        aucs.append(fast_auc(y[~train], fit.scores["combined"].to_numpy()[~train]))
        # the signatures are out-of-fold on training: noise must not look good there either
        assert fast_auc(y[train], fit.scores["rad_sign"].to_numpy()[train]) < 0.75
    assert abs(np.mean(aucs) - 0.5) < 0.12, aucs


def test_zou_design_runs_the_fusion_stage_instead_of_select_and_evaluate() -> None:
    from spinedlr.demo.zou2025 import zou_config

    design = zou_config(0).design
    assert fixed_split(design) and unsupported_fusion(design, "subsidence") == []
    assert not fixed_split(ds.DesignSettings())
    bad = design.model_copy(update={"calibration": "isotonic"})
    assert any("calibration" in line for line in unsupported_fusion(bad, "subsidence"))

    class _S:  # what StageSpec.active reads of a study
        def __init__(self, cfg):
            self.config = cfg

    cfg = zou_config(0)
    active = {s.name for s in STAGES if s.active(_S(cfg))}
    assert active == {"extract", "fusion"}  # segment off in the demo; no Radscore stages
    ref = cfg.model_copy(update={"design": ds.DesignSettings()})
    assert "fusion" not in {s.name for s in STAGES if s.active(_S(ref))}


def _clinical_study(tmp_path, rng, n: int = 120) -> tuple[Study, pl.DataFrame, pl.DataFrame]:
    """(study, manifest, cohorts) of a Zou-design study whose manifest holds the clinical
    columns (image paths are never read here): osteoporosis raises the risk, the rest is noise."""
    cfg = zou_config(0)
    osteo = rng.random(n) < 0.45
    y = (rng.random(n) < np.where(osteo, 0.55, 0.1)).astype(int)
    paths = {c: "none.nii.gz" for roi in cfg.rois for c in
             [col for _, col, _ in roi.image_columns()] + list(roi.masks.values())}
    manifest = pl.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)], cfg.outcome: y,
        "age": rng.normal(62, 9, n), "sex": rng.choice(["female", "male"], n),
        "bmi": rng.normal(26, 3, n), "osteoporosis": np.where(osteo, "yes", "no"),
        "segments": rng.choice([1, 2, 3], n), "diagnosis": rng.choice(cfg.covariates[-1].levels, n),
        "centre": "A", "surgeon_a": rng.integers(0, 2, n), "surgeon_b": rng.integers(0, 2, n),
        **{c: [v] * n for c, v in paths.items()}})
    manifest.write_csv(tmp_path / cfg.manifest)
    study = Study(cfg, tmp_path / "study.yaml")
    cohorts = assign_cohorts(manifest["patient_id"].to_list(), y, cfg.design.validation, seed=0)
    return study, manifest, cohorts


def test_clinical_factors_are_selected_on_the_training_cohort_only(tmp_path) -> None:
    """Zou et al.'s univariable -> multivariable choice keeps the one associated factor, and
    flipping every validation and test outcome changes neither the table nor the choice."""
    study, manifest, cohorts = _clinical_study(tmp_path, np.random.default_rng(7))
    got = clinical_terms(study, manifest, cohorts)
    n_train = int((cohorts["cohort"] == "training").sum())
    assert got.chosen == ["osteoporosis"] and got.design.columns == ["osteoporosis"]
    assert set(got.selection["n"]) == {n_train}
    held = cohorts["cohort"] != "training"
    flipped = cohorts.with_columns(pl.when(held).then(1 - pl.col("outcome")).otherwise(pl.col("outcome"))
                                   .alias("outcome"))
    again = clinical_terms(study, manifest, flipped)
    assert again.selection.equals(got.selection) and again.chosen == got.chosen
    cfg = study.config
    no_selection = cfg.model_copy(update={"fusion": cfg.fusion.model_copy(update={"clinical_p_enter": None})})
    every = clinical_terms(Study(no_selection, study.path), manifest, cohorts)
    assert every.selection is None and every.chosen == [c.name for c in study.config.covariates]


def test_without_clinical_factors_the_combined_model_has_the_signatures_only() -> None:
    ids, y, rng = _cohort(6)
    train = np.zeros(len(y), dtype=bool)
    train[rng.permutation(len(y))[:60]] = True
    features, _ = _inputs(rng, y, signal=1.0)
    fit = _fit(features, pl.DataFrame(), y, train)
    assert "clinical" not in fit.scores.columns and fit.combined_terms == ["rad_sign", "dl_sign"]
    assert fast_auc(y[~train], fit.scores["combined"].to_numpy()[~train]) > 0.7


TINY_3D = {"input_size": 16, "patch_size": 8, "hidden_size": 16, "heads": 2, "mlp_dim": 16,
           "depth": 1, "batch_size": 4, "epochs": 2, "precision": "fp32", "num_threads": 1}


def _slab_volumes(y: np.ndarray, ids: list[str], seed: int):
    """A bright slab in the upper (outcome 1) or lower half of a cubic ROI in noise
    (tests/test_classify3d.py's toy task), one small volume per patient."""
    from spinedlr.classify3d import Volume

    rng = np.random.default_rng(seed)
    vols = []
    for pid, label in zip(ids, y):
        img = rng.normal(0, 1, (12, 12, 12)).astype(np.float32)
        img[(slice(2, 6) if label else slice(6, 10)), 2:10, 2:10] += 1.0
        mask = np.zeros(img.shape, np.uint8)
        mask[2:10, 2:10, 2:10] = 1
        vols.append(Volume(pid, img, mask))
    return vols


def _deep_signature(vols, y, cohorts, rad, clinical, fs, with_folds: bool):
    """What the stage does with the deep family, on in-memory volumes and no checkpoints:
    the full network and (``with_folds``) the fold networks, then ``fit_models``."""
    from spinedlr.fusion.features import signature_folds, training_sets, train_networks
    from spinedlr.fusion.model import DeepFolds

    fold = signature_folds(cohorts, fs.deep_signature_folds, seed=0)
    members = training_sets(cohorts, fold)[: None if with_folds else 1]
    labels = dict(zip(cohorts["patient_id"], y.tolist()))
    val = [v for v, c in zip(vols, cohorts["cohort"]) if c == "validation"]
    tables, _ = train_networks(fs.classify3d, vols, labels, members, val,
                               [1000 * j for j in range(len(members))], [None] * len(members))
    deep = [t.drop("patient_id") for t in tables]
    folds = DeepFolds(fold, deep[1:]) if with_folds else None
    train = (cohorts["cohort"] == "training").to_numpy()
    fit = fit_models({"radiomics": rad, "deep": deep[0]}, clinical, y, train, fs, ["lr"], {}, 2,
                     seed=0, deep_folds=folds)
    return fit.scores["dl_sign"].to_numpy(), fold, members


def test_training_dl_sign_is_out_of_fold_for_the_networks_too() -> None:
    """Flipping one training patient's outcome retrains every network that saw it, yet its
    own DL signature (and its fold's) stays bit-identical: fold k's networks, chain and
    classifier never saw fold k. Without the fold networks it moves (the old leak)."""
    ids, y, rng = _cohort(7, n=36, events=18)
    cohorts = pl.DataFrame({"patient_id": ids, "outcome": y,
                            "cohort": ["training"] * 24 + ["validation"] * 12})
    train = (cohorts["cohort"] == "training").to_numpy()
    features, clinical = _inputs(rng, y, signal=1.0)
    vols = _slab_volumes(y, ids, seed=7)
    fs = FusionSettings(**(FAST.model_dump() | {"deep_signature_folds": 3, "classify3d": TINY_3D}))
    base, fold, members = _deep_signature(vols, y, cohorts, features["radiomics"], clinical, fs, True)
    patient = int(np.flatnonzero(train & (fold == 0))[0])
    for k in range(3):  # fold k's networks were trained on the other training patients only
        assert set(members[k + 1]) == {p for p, f, t in zip(ids, fold, train) if t and f != k}
    assert ids[patient] not in members[1] and ids[patient] in members[0]
    y2 = y.copy()
    y2[patient] = 1 - y2[patient]
    moved, fold2, _ = _deep_signature(vols, y2, cohorts, features["radiomics"], clinical, fs, True)
    np.testing.assert_array_equal(fold2, fold)  # same folds, so the comparison is like for like
    same = train & (fold == 0)
    np.testing.assert_array_equal(moved[same], base[same])
    assert not np.allclose(moved[train & (fold > 0)], base[train & (fold > 0)])
    assert not np.allclose(moved[~train], base[~train])  # the full network saw the flip
    old, _, _ = _deep_signature(vols, y, cohorts, features["radiomics"], clinical, fs, False)
    old2, _, _ = _deep_signature(vols, y2, cohorts, features["radiomics"], clinical, fs, False)
    assert old[patient] != old2[patient]
