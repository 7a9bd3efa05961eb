"""The `design:` block of study.yaml: today's defaults, one clear error per wrong combination,
and the check that stops a design the select/evaluate stages cannot run yet."""

from pathlib import Path

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from spinedlr.config import StudyConfig, dump_config, load_study, parse_config
from spinedlr.design.settings import DesignSettings
from spinedlr.design.support import check_columns, require_supported, unsupported
from spinedlr.errors import ConfigError, ManifestError

SPIDER = {  # issue 15's design, as a user would write it
    "outcome": {"column": "pfirrmann", "kind": "ordinal", "classes": [1, 2, 3, 4, 5]},
    "unit": {"rows_per_patient": "several", "keys": ["patient_id", "ivd_label"]},
    "validation": {"scheme": "fixed", "train": 0.6, "validation": 0.2, "test": 0.2},
    "models": [{"name": "lightgbm"}, {"name": "random_forest", "grid": {"max_depth": [4, 8]}},
               {"name": "lr"}],
    "calibration": "isotonic",
}


def _config(design: dict) -> StudyConfig:
    return parse_config({"design": design}, Path("study.yaml"))


def test_defaults_are_todays_design_and_supported():
    design = StudyConfig().design
    assert design == _config({}).design == DesignSettings()
    assert design.validation.scheme == "internal" and [m.name for m in design.models] == ["radscore"]
    assert unsupported(design, "recurrence") == []
    explicit = {"outcome": {"kind": "binary", "classes": [0, 1], "positive": 1},
                "unit": {"rows_per_patient": "one", "keys": ["patient_id"]},
                "models": [{"name": "radscore"}]}
    assert unsupported(_config(explicit).design, "recurrence") == []


def test_the_other_studies_designs_validate():
    design = _config(SPIDER).design
    assert design.validation.scheme == "fixed" and design.models[1].grid == {"max_depth": [4, 8]}
    _config({"validation": {"scheme": "logo", "column": "scanner"}, "models": [{"name": "lr"}],
             "outcome": {"kind": "multiclass", "classes": ["a", "b", "c"]}})
    _config({"validation": {"scheme": "external", "manifest": "../centre2/manifest.csv"},
             "models": [{"name": n} for n in ("lr", "svm", "knn", "xgboost")]})
    _config({"validation": {"scheme": "by_column", "column": "centre",
                            "roles": {"A": "train", "B": "validation", "C": "test"}},
             "calibration": "sigmoid", "models": [{"name": "adaboost"}]})
    # an out-of-fold map needs no validation rows: the training rows' own folds give it
    assert _config({"validation": {"scheme": "kfold"}, "models": [{"name": "lr"}],
                    "calibration": "temperature_cv"}).design.calibration == "temperature_cv"


def test_settings_are_immutable_and_strict():
    design = DesignSettings()
    with pytest.raises(ValidationError, match="frozen"):
        design.calibration = "isotonic"
    with pytest.raises(ConfigError, match="unknown key 'design.validation.internal.folds'"):
        _config({"validation": {"scheme": "internal", "folds": 3}})


@pytest.mark.parametrize(
    "design, message",
    [
        ({"outcome": {"kind": "ordinal", "classes": [1, 2, 3]}},
         "radscore model needs a binary outcome; outcome.kind is ordinal"),
        ({"calibration": "isotonic", "validation": {"scheme": "kfold"}},
         "calibration isotonic is fitted on a validation split.*or the out-of-fold isotonic_cv"),
        ({"calibration": "temperature", "validation": {"scheme": "kfold"}},
         "calibration temperature is fitted on a validation split"),
        ({"calibration": "sigmoid", "validation": {"scheme": "fixed", "train": 0.7,
                                                    "validation": 0, "test": 0.3}},
         "calibration sigmoid is fitted on a validation split"),
        ({"calibration": "isotonic", "validation": {"scheme": "by_column", "column": "centre",
                                                     "roles": {"A": "train", "B": "test"}}},
         "calibration isotonic is fitted on a validation split"),
        ({"validation": {"scheme": "logo"}}, "design.validation.logo.column: Field required"),
        ({"validation": {"scheme": "by_column", "column": "centre", "roles": {"A": "train"}}},
         "must give some value of 'centre' the role\\(s\\) test"),
        ({"validation": {"scheme": "external"}}, "external validation needs validation.manifest"),
        ({"validation": {"scheme": "fixed", "train": 0.6, "validation": 0.3, "test": 0.3}},
         "must sum to 1"),
        ({"validation": {"scheme": "holdout"}}, "does not match any of the expected tags"),
        ({"outcome": {"kind": "ordinal"}, "models": [{"name": "lr"}]},
         "ordinal outcome needs its class order declared"),
        ({"unit": {"rows_per_patient": "several"}},
         "several rows per patient need design.unit.keys"),
        ({"unit": {"rows_per_patient": "several", "keys": ["patient_id"]}},
         "several rows per patient need design.unit.keys"),
        ({"unit": {"rows_per_patient": "several", "keys": ["ivd_label"]}},
         "must include the patient column 'patient_id'"),
        ({"unit": {"keys": ["patient_id", "ivd_label"]}}, "set design.unit.rows_per_patient: several"),
        ({"models": [{"name": "catboost"}]}, "design.models.0.name: Input should be 'radscore'"),
        ({"models": [{"name": "lr"}, {"name": "lr"}]}, "must name each model once"),
        ({"models": [{"name": "svm", "grid": {"gamma_": [1]}}]}, "model svm: unknown hyper-parameter"),
    ],
)
def test_each_wrong_combination_is_one_clear_error(design, message):
    with pytest.raises(ConfigError, match=message) as err:
        _config(design)
    assert len(str(err.value).splitlines()) == 1


def test_columns_the_design_names_must_be_manifest_columns():
    design = _config({"validation": {"scheme": "logo", "column": "scanner"},
                      "unit": {"rows_per_patient": "several", "keys": ["patient_id", "ivd_label"]},
                      "models": [{"name": "lr"}]}).design
    check_columns(design, ["patient_id", "ivd_label", "recurrence", "scanner"], "patient_id", "recurrence")
    with pytest.raises(ManifestError, match="no column 'scanner' \\(the design.validation.column"):
        check_columns(design, ["patient_id", "ivd_label", "recurrence"], "patient_id", "recurrence")
    with pytest.raises(ManifestError, match="no column 'ivd_label' \\(the unit key"):
        check_columns(design, ["patient_id", "recurrence", "scanner"], "patient_id", "recurrence")


def test_unsupported_names_every_axis_and_the_stages():
    lines = unsupported(_config(SPIDER).design, "recurrence")
    assert [line.split(" ")[0] for line in lines] == [
        "design.outcome.kind", "design.unit.rows_per_patient", "design.validation.scheme",
        "design.models", "design.calibration"]
    assert all("select and evaluate stages" in line for line in lines)
    recoded = _config({"outcome": {"classes": ["no", "yes"]}}).design
    assert "read the top-level `outcome` column as 0/1" in unsupported(recoded, "recurrence")[0]


def test_classifiers_run_in_the_compare_stage_only_on_a_design_the_stages_run():
    fan = {"validation": {"scheme": "external", "manifest": "external/manifest.csv"},
           "models": [{"name": "lr"}, {"name": "xgboost", "grid": {"max_depth": [2]}}]}
    assert unsupported(_config(fan).design, "recurrence") == []
    several = _config(fan | {"unit": {"rows_per_patient": "several", "keys": ["patient_id", "ivd_label"]}})
    assert [line.split(" ")[0] for line in unsupported(several.design, "recurrence")] == [
        "design.unit.rows_per_patient", "design.models"]
    tuned = _config({"models": [{"name": "radscore", "grid": {"ridge_C": [1.0]}}]}).design
    assert unsupported(tuned, "recurrence") == [
        "design.models radscore: the select and evaluate stages fit the Radscore without a grid"]


def _study(tmp_path: Path, design: dict) -> Path:
    pl.DataFrame({"patient_id": ["p1", "p2"], "recurrence": [0, 1],
                  "scanner": ["A", "B"]}).write_csv(tmp_path / "manifest.csv")
    dump_config(StudyConfig(), tmp_path / "study.yaml")
    cfg = yaml.safe_load((tmp_path / "study.yaml").read_text())
    cfg["design"] = design
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "study.yaml"


def test_dumped_config_round_trips_with_the_design_block(tmp_path):
    path = _study(tmp_path, SPIDER)
    study = load_study(path)
    dump_config(study.config, tmp_path / "again.yaml")
    assert load_study(tmp_path / "again.yaml").config == study.config


def test_pipeline_refuses_an_unsupported_design_before_any_stage(tmp_path):
    from spinedlr.pipeline import run_pipeline

    study = load_study(_study(tmp_path, {"validation": {"scheme": "logo", "column": "scanner"}}))
    with pytest.raises(ConfigError, match="design.validation.scheme logo: the select and evaluate"):
        run_pipeline(study)
    assert not (tmp_path / "out").exists()
    require_supported(load_study(_study(tmp_path, {})))  # the default design passes


def test_external_and_logo_columns_are_checked_against_the_manifests(tmp_path):
    study = load_study(_study(tmp_path, {"validation": {"scheme": "logo", "column": "centre"}}))
    with pytest.raises(ManifestError, match="no column 'centre'"):
        require_supported(study)
    study = load_study(_study(tmp_path, {"validation": {"scheme": "external",
                                                        "manifest": "centre2.csv"}}))
    with pytest.raises(ConfigError, match="centre2.csv is not a file"):
        require_supported(study)
    pl.DataFrame({"patient_id": ["q1"], "outcome": [1]}).write_csv(tmp_path / "centre2.csv")
    with pytest.raises(ManifestError, match="centre2.csv has no column 'recurrence'"):
        require_supported(study)
    # with the study's columns, an external cohort runs (the external stage scores it)
    pl.DataFrame({"patient_id": ["q1"], "recurrence": [1]}).write_csv(tmp_path / "centre2.csv")
    require_supported(study)
