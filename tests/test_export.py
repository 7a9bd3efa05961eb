"""`spinedlr export` reproduces Tables 2 and 3 in plain R (Rscript, no R_LIBS) from data files.

The exported scripts are run with a minimal environment, exactly as a statistician would run
them, and every number they write is compared with the evaluate stage's tables.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest

from spinedlr.config import Study, load_study
from spinedlr.evaluate.stage import run
from spinedlr.evaluate.synthetic import write_synthetic_study
from spinedlr.export import export_study

ROOT = Path(__file__).resolve().parents[1]
FAST = {"boot_n": 30, "pauc_boot_n": 20, "calibration_b": 10, "folds": 5, "interaction": None}
# An outcome name that is R code: if any config value were pasted into R source, running the
# exported scripts would create PWNED.
EVIL = 'x"); file.create("PWNED"); ("'
PLAIN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}


def _rscript(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["Rscript", *args], cwd=folder, capture_output=True, text=True, env=PLAIN_ENV,
                          timeout=600)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A synthetic study with the demo's zero-event level (segment L3/4), evaluated, then
    exported under an outcome name made of R code."""
    folder = tmp_path_factory.mktemp("study")
    path = write_synthetic_study(folder, evaluate=FAST)
    man = pl.read_csv(folder / "manifest.csv")
    l34 = man.filter(pl.col("recurrence") == 0)["patient_id"].head(6).to_list()
    man = man.with_columns(
        pl.when(pl.col("patient_id").is_in(l34)).then(pl.lit("L3/4"))
        .when(pl.col("segment") == "L3/4").then(pl.lit("L4/5")).otherwise(pl.col("segment")).alias("segment"))
    man.write_csv(folder / "manifest.csv")
    study = load_study(path)
    run(study)
    (study.output / "selection").mkdir(exist_ok=True)
    (study.output / "selection" / "provenance.json").write_text('{"stage": "select"}')
    # (Parquet: polars does not unescape doubled quotes in a CSV header.)
    man.rename({"recurrence": EVIL}).write_parquet(folder / "manifest_evil.parquet")
    evil = Study(study.config.model_copy(update={"outcome": EVIL, "manifest": "manifest_evil.parquet"}), path)
    dest = export_study(evil, folder / "export")
    return study, dest


def _compare(from_r: pl.DataFrame, ref: pl.DataFrame, keys: list[str]) -> None:
    assert from_r.height == ref.height
    joined = ref.join(from_r, on=keys, how="left", suffix="_r")
    numeric = [c for c in ref.columns if c not in keys and ref[c].dtype.is_numeric()]
    assert numeric
    for c in numeric:
        for a, b in zip(joined[c].to_list(), joined[f"{c}_r"].to_list()):
            assert (a is None) == (b is None), c
            if a is not None:
                assert b == pytest.approx(a, rel=1e-9, abs=1e-12), c


def test_table2_and_table3_from_plain_rscript_equal_the_pipeline(exported):
    study, dest = exported
    for script in ("table2.R", "table3.R"):
        r = _rscript(dest, script)
        assert r.returncode == 0, r.stderr[-2000:]
    assert not (dest / "PWNED").exists() and not list(dest.parent.rglob("PWNED"))
    t2 = pl.read_parquet(study.output / "stats" / "table2.parquet")
    _compare(pl.read_csv(dest / "table2_from_R.csv", null_values="NA"), t2, ["score", "model"])
    t3 = pl.read_parquet(study.output / "stats" / "table3.parquet")
    _compare(pl.read_csv(dest / "table3_from_R.csv", null_values="NA"), t3, ["score", "model", "method", "statistic"])
    # the adjusted models are Firth fits (segment L3/4 has no events), in R as in the pipeline
    assert set(pl.read_csv(dest / "table3_from_R.csv").filter(pl.col("model") == "adjusted")["estimation"]) == {"firth"}


def test_data_dictionary_and_design_keep_the_covariate_types(exported):
    study, dest = exported
    dd = {r["column"]: r for r in pl.read_csv(dest / "data_dictionary.csv").iter_rows(named=True)}
    assert dd["pfirrmann"]["r_class"] == "integer" and dd["pfirrmann"]["levels"] == "1=III|2=IV|3=V"
    assert dd["segment"]["r_class"] == "factor" and dd["segment"]["reference"] == "L3/4"
    assert dd["gender"]["levels"] == "female|male"
    assert dd[EVIL]["role"] == "outcome" and dd["radscore_disc"]["role"] == "score"
    design = json.loads((dest / "design.json").read_text())
    assert design["outcome"] == EVIL and design["separation"] == "firth"
    # no value of the study config appears in any R file
    for script in dest.glob("*.R"):
        text = script.read_text()
        assert "PWNED" not in text and "radscore_disc" not in text and "pfirrmann" not in text


def test_provenance_of_each_stage_is_kept(exported):
    _, dest = exported
    assert json.loads((dest / "selection_provenance.json").read_text()) == {"stage": "select"}
    assert json.loads((dest / "stats_provenance.json").read_text())["stage"] == "evaluate"


def test_readme_r_workflow_runs_in_the_export(exported):
    _, dest = exported
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## For R users", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```r\n(.*?)```", section, re.S)
    assert code, "README 'For R users' has no R block"
    (dest / "readme_snippet.R").write_text(code[0])
    r = _rscript(dest, "readme_snippet.R")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "firth" in r.stdout
