"""Every stage follows one contract: a declared spec, declared outputs, keys of what it reads.

The outputs test runs the table stages (extract, select, evaluate) one by one on a tiny
synthetic study and compares the files each one added or changed with what its spec declares;
the key tests need no stage run at all.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from spinedlr.config import StudyConfig, load_study
from spinedlr.errors import ConfigError
from spinedlr.pipeline import STAGES, stage_key
from spinedlr.settings import ConfigDeprecationWarning, Settings
from spinedlr.stage_contract import StageContext, StageResult, StageSpec

STAGE_MODULES = ("spinedlr.segment.stage", "spinedlr.extract.stage", "spinedlr.extract.deep_stage",
                 "spinedlr.select.stage", "spinedlr.evaluate.stage", "spinedlr.external.stage",
                 "spinedlr.compare.stage", "spinedlr.grading.stage", "spinedlr.fusion.stage")
ROOT = Path(__file__).resolve().parents[1]
FAST_PARAMS = ROOT / "tests" / "data" / "fast_radiomics.yaml"


def test_every_stage_module_declares_one_spec_and_the_pipeline_is_those_specs():
    specs = [importlib.import_module(m).SPEC for m in STAGE_MODULES]
    assert all(isinstance(s, StageSpec) for s in specs)
    assert list(STAGES) == specs
    assert len({s.name for s in specs}) == len(specs)
    produced: set[str] = set()
    for spec in STAGES:  # a stage reads only what an earlier stage declares it writes
        assert set(spec.upstream) <= produced, (spec.name, spec.upstream)
        produced |= set(spec.outputs)


def _demo_study(folder: Path, segment: bool = False, **runtime) -> Path:
    from spinedlr.demo.generate import write_demo_study

    write_demo_study(folder, n=24, events=9, seed=2)
    cfg = yaml.safe_load((folder / "study.yaml").read_text())
    cfg["covariates"] = [c for c in cfg["covariates"] if c["name"] in {"age", "pfirrmann"}]
    cfg["segment"].update(enabled=segment, epochs=1, img_size=32, base_channel=4, batch_size=8,
                          max_train_patients=3, precision="fp32")
    cfg["extract"]["deep"].update(gradcam_patients=["P001"])
    runtime.setdefault("num_threads", 1)
    cfg["extract"]["params"] = str(FAST_PARAMS)
    cfg["runtime"].update(workers=1, validation_workers=1, **runtime)
    cfg["select"].update(validation_folds=0, mrmr_k_grid=[2, 4], lasso_folds=3, svm_rfe_folds=3,
                         mrmr_folds=3)
    cfg["evaluate"].update(boot_n=0, calibration_b=10, pauc_boot_n=10, folds=0, loocv=False,
                           thresholds=[0.2, 0.5])
    (folder / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder / "study.yaml"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".cache" not in p.parts and "cache" not in p.parts}


def _declared(spec: StageSpec, name: str) -> bool:
    return any(name == o or name.startswith(o.rstrip("/") + "/")
               for o in (*spec.outputs, *spec.optional_outputs))


@pytest.mark.slow
def test_each_stage_writes_what_it_declares_and_nothing_else(tmp_path):
    study = load_study(_demo_study(tmp_path / "demo", segment=True))
    for spec in STAGES:
        if spec.per_unit_multiclass:  # the grading design's stage: tests/test_grading_stage.py
            assert not spec.active(study), spec.name
            continue
        if spec.fixed_split:  # the fixed-split design's stage: tests/test_fusion_e2e.py
            assert not spec.active(study), spec.name
            continue
        if spec.name in ("external", "compare"):  # only with an external cohort or classifiers
            assert not spec.active(study)  # (tests/test_external_stage.py, test_compare_stage.py)
            continue
        assert spec.active(study), spec.name
        before = _files(study.output) if study.output.exists() else {}
        result = spec.run(study, StageContext(show_progress=False))
        after = _files(study.output)
        written = {n for n, b in after.items() if before.get(n) != b}
        assert isinstance(result, StageResult) and result.stage == spec.name
        assert written and all(_declared(spec, n) for n in written), (spec.name, written)
        assert all((study.output / o).exists() for o in spec.outputs), spec.name
        assert all(p.exists() for p in result.outputs.values()), spec.name


def test_runtime_options_do_not_change_a_stage_key_and_results_settings_do(tmp_path):
    path = _demo_study(tmp_path / "demo")
    study = load_study(path)
    extract = next(s for s in STAGES if s.name == "extract")
    keys = {s.name: stage_key(study, s) for s in STAGES if s.enabled(study)}
    busy = study.override("runtime", "test", workers=4, keep_going=True, validation_workers=3,
                          num_threads=2, device="cpu")
    assert {s.name: stage_key(busy, s) for s in STAGES if s.enabled(study)} == keys
    assert stage_key(study.override("extract", "test", bin_width=5.0), extract) != keys["extract"]
    # another stage's settings leave the key alone: the deep network's batch size is not read
    # by PyRadiomics
    deep_batch = study.override("extract", "test", deep={"batch_size": 3})
    assert stage_key(deep_batch, extract) == keys["extract"]


@pytest.mark.slow
def test_changing_workers_does_not_rerun_extraction_and_changing_bin_width_does(tmp_path):
    from spinedlr.pipeline import run_pipeline

    path = _demo_study(tmp_path / "demo")
    assert dict(run_pipeline(load_study(path), only=["extract"]))["extract"] == "ran"
    cfg = yaml.safe_load(path.read_text())
    cfg["runtime"]["workers"] = 2
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert dict(run_pipeline(load_study(path), only=["extract"]))["extract"] == "skipped"
    cfg["extract"]["bin_width"] = 10.0
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert dict(run_pipeline(load_study(path), only=["extract"]))["extract"] == "ran"


def test_settings_are_frozen_after_validation():
    cfg = StudyConfig()
    for section in (cfg, cfg.segment, cfg.extract, cfg.extract.deep, cfg.select, cfg.evaluate,
                    cfg.report, cfg.design, cfg.runtime, cfg.rois[0], cfg.covariates[0]):
        assert isinstance(section, Settings)
        name = next(iter(type(section).model_fields))
        with pytest.raises(ValidationError, match="frozen"):
            setattr(section, name, getattr(section, name))


def test_a_study_is_changed_only_through_validation(tmp_path):
    study = load_study(_demo_study(tmp_path / "demo"))
    with pytest.raises(AttributeError, match="immutable"):
        study.config = StudyConfig()
    fewer = study.override("segment", "--epochs", epochs=2)
    assert fewer.config.segment.epochs == 2 and study.config.segment.epochs == 1
    assert study.override("segment", "--epochs", epochs=None) is study
    with pytest.raises(ConfigError, match="--epochs"):
        study.override("segment", "--epochs", epochs=0)
    with pytest.raises(ConfigError, match="--preset"):
        study.override("segment", "--preset", preset="gpu")


def test_runtime_options_at_their_old_places_still_load_with_a_note():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = StudyConfig.model_validate({"extract": {"workers": 3, "keep_going": True},
                                          "segment": {"device": "cpu"},
                                          "select": {"validation_workers": 2}})
    assert (cfg.runtime.workers, cfg.runtime.keep_going, cfg.runtime.device,
            cfg.runtime.validation_workers) == (3, True, "cpu", 2)
    notes = [str(w.message) for w in caught if issubclass(w.category, ConfigDeprecationWarning)]
    assert len(notes) == 1 and "extract.workers" in notes[0] and "runtime" in notes[0]


def test_a_runtime_option_given_at_both_places_is_one_clear_error(tmp_path):
    path = _demo_study(tmp_path / "demo")
    cfg = yaml.safe_load(path.read_text())
    cfg["extract"]["workers"] = 3
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_study(path)
    assert "extract.workers and runtime.workers" in str(err.value)
    assert str(path) in str(err.value) and len(str(err.value).splitlines()) == 1
