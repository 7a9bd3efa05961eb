"""Bad input and faults, tried as a new user would (issue 13): each gets one clear line before
any stage writes, or is recovered from, never a silent wrong result or a traceback.

Most cases break one thing in a copy of a 12-patient demo study generated once per session.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import SimpleITK as sitk
import yaml
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.errors import ConfigError, SpinedlrError

ROOT = Path(__file__).resolve().parents[1]
FAST_PARAMS = ROOT / "tests" / "data" / "fast_radiomics.yaml"
runner = CliRunner()


def fast_config(d: Path, **top) -> None:
    """No network, original-image radiomics, folds small enough for 4 events."""
    cfg = yaml.safe_load((d / "study.yaml").read_text())
    cfg["covariates"] = [c for c in cfg["covariates"] if c["name"] in {"age", "pfirrmann"}]
    cfg["segment"]["enabled"] = False
    cfg["extract"]["deep"]["enabled"] = False
    cfg["extract"]["params"] = str(FAST_PARAMS)
    cfg["select"].update(mrmr_folds=2, lasso_folds=2, svm_rfe_folds=2, validation_folds=2)
    cfg["evaluate"].update(boot_n=20, calibration_b=20, pauc_boot_n=20, folds=3)
    cfg.update(top)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="session")
def demo12(tmp_path_factory) -> Path:
    from spinedlr.demo.generate import write_demo_study

    d = tmp_path_factory.mktemp("reliability") / "demo"
    write_demo_study(d, n=12, events=4, seed=1)
    fast_config(d)
    return d


@pytest.fixture(scope="session")
def extracted12(demo12, tmp_path_factory) -> Path:
    """The demo with features extracted (and cached) once."""
    from spinedlr.pipeline import run_pipeline

    d = tmp_path_factory.mktemp("reliability-extracted") / "demo"
    shutil.copytree(demo12, d)
    run_pipeline(load_study(d), only=["extract"])
    return d


@pytest.fixture
def study(demo12, tmp_path) -> Path:
    d = tmp_path / "demo"
    shutil.copytree(demo12, d)
    return d


@pytest.fixture
def done(extracted12, tmp_path) -> Path:
    d = tmp_path / "demo"
    shutil.copytree(extracted12, d)
    return d


def cli(*args: str) -> tuple[int, str]:
    """Exit code and output, with table borders and line wrapping taken out."""
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, " ".join(re.sub("[│┃]", " ", res.output).split())


def one_line_error(output: str) -> None:
    assert "Traceback" not in output and "error" in output.lower(), output


def edit_volume(path: Path, fn, dtype=None) -> None:
    """Rewrite a volume through fn(array) -> array, keeping its geometry."""
    img = sitk.ReadImage(str(path))
    arr = sitk.GetArrayFromImage(img)
    out = sitk.GetImageFromArray(fn(arr.astype(dtype) if dtype else arr))
    out.CopyInformation(img)
    sitk.WriteImage(out, str(path))


def problems_of(d: Path, **kw) -> list[tuple[str, str, str]]:
    from spinedlr.manifest import validate_study

    return validate_study(load_study(d), **kw).problems


def edit_config(d: Path, fn) -> None:
    cfg = yaml.safe_load((d / "study.yaml").read_text())
    fn(cfg)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def edit_manifest(d: Path, column: str, patient: str, value) -> None:
    df = pl.read_csv(d / "manifest.csv", schema_overrides={"patient_id": pl.Utf8},
                     infer_schema_length=None)
    df = df.with_columns(pl.col(column).cast(pl.Utf8))
    df = df.with_columns(pl.when(pl.col("patient_id") == patient).then(pl.lit(value))
                         .otherwise(pl.col(column)).alias(column))
    df.write_csv(d / "manifest.csv")


# --- silent wrong results become clear errors, before any stage writes ---------------------

def test_truncated_image_fails_validate_in_parallel(study):
    f = study / "images" / "P003_disc.nii.gz"
    f.write_bytes(f.read_bytes()[:3000])
    code, out = cli("validate", study, "-j", "2")
    assert code == 1 and "P003" in out and "truncated" in out, out


def test_mask_cut_to_half_its_bytes_fails(study):
    f = study / "masks" / "rater1" / "P002_muscle.nii.gz"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    hit = [p for p in problems_of(study) if p[0] == "P002" and "rater1/P002_muscle" in p[1]]
    assert hit and "truncated" in hit[0][2]


def test_uncompressed_nifti_missing_voxel_bytes_fails(study):
    f = study / "images" / "P004_disc.nii.gz"
    raw = gzip.decompress(f.read_bytes())
    f.write_bytes(gzip.compress(raw[: len(raw) - 5000]))  # a whole gzip stream, short data
    hit = [p for p in problems_of(study) if p[0] == "P004"]
    assert hit and "header promises" in hit[0][2]


def test_nan_inside_roi_fails(study):
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(study / "masks/rater1/P005_disc.nii.gz")))

    def plant(a):
        a[tuple(np.argwhere(mask == 1)[:5].T)] = np.nan
        return a

    edit_volume(study / "images" / "P005_disc.nii.gz", plant, np.float32)
    hit = [p for p in problems_of(study) if p[0] == "P005"]
    assert hit and "NaN or infinite voxel" in hit[0][2] and "rater1" in hit[0][1]


def test_wholly_nan_image_fails(study):
    edit_volume(study / "images" / "P006_muscle.nii.gz", lambda a: a * np.nan, np.float32)
    hit = [p for p in problems_of(study) if p[0] == "P006"]
    assert hit and "no finite voxel" in hit[0][2]


def test_absurd_values_fail(study):
    edit_volume(study / "images" / "P007_disc.nii.gz", lambda a: a * 1e300, np.float64)
    code, out = cli("validate", study)
    assert code == 1 and "P007" in out and "beyond any scanner" in out, out


def test_2d_image_in_3d_study_fails(study):
    for rel in ("images/P008_disc.nii.gz", "masks/rater1/P008_disc.nii.gz",
                "masks/rater2/P008_disc.nii.gz"):
        img = sitk.ReadImage(str(study / rel))
        sitk.WriteImage(img[:, :, 3], str(study / rel))
    hit = [p for p in problems_of(study) if p[0] == "P008"]
    assert hit and "2D image" in hit[0][2]


def test_rgb_image_fails(study):
    path = study / "images" / "P009_disc.nii.gz"
    img = sitk.ReadImage(str(path))
    rgb = sitk.Compose([sitk.Cast(img, sitk.sitkUInt8)] * 3)
    sitk.WriteImage(rgb, str(path))
    code, out = cli("validate", study)
    assert code == 1 and "P009" in out and "RGB" in out, out


def test_float_mask_with_fractions_is_named_not_empty(study):
    edit_volume(study / "masks" / "rater2" / "P010_disc.nii.gz", lambda a: a * 0.5, np.float32)
    hit = [p for p in problems_of(study) if p[0] == "P010"]
    assert hit and "non-integer values" in hit[0][2] and "empty" not in hit[0][2]


def test_float_mask_with_whole_numbers_is_fine(study):
    edit_volume(study / "masks" / "rater2" / "P010_disc.nii.gz", lambda a: a, np.float32)
    assert problems_of(study) == []


def test_header_only_manifest_fails(study):
    header = (study / "manifest.csv").read_text().splitlines()[0]
    (study / "manifest.csv").write_text(header + "\n")
    code, out = cli("validate", study)
    assert code == 1 and "no patients" in out, out


def test_empty_study_yaml_fails(study):
    (study / "study.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="empty"):
        load_study(study)


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_workers_below_one_on_the_command_line_are_refused(study, workers):
    code, out = cli("extract", "radiomics", study, "-j", workers)
    assert code == 1 and "--workers" in out and "greater than or equal to 1" in out, out
    assert not (study / "out" / "features").exists()


@pytest.mark.parametrize("key, value", [("icc_threshold", 1.5), ("pearson_threshold", 2.0),
                                        ("association_threshold", -0.1)])
def test_probability_settings_out_of_range_are_refused_at_load(study, key, value):
    edit_config(study, lambda c: c["select"].update({key: value}))
    with pytest.raises(ConfigError, match=f"select.{key}"):
        load_study(study)


def test_non_numeric_continuous_covariate_caught_by_validate(study):
    edit_manifest(study, "age", "P003", "abc")
    hit = [p for p in problems_of(study, check_files=False) if p[1] == "age"]
    assert hit == [("P003", "age", "value 'abc' is not a finite number (continuous covariate)")]


def test_run_validates_every_file_before_any_stage(study):
    f = study / "masks" / "rater2" / "P001_disc.nii.gz"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    code, out = cli("run", study)
    assert code == 1 and "P001" in out and "truncated" in out, out
    one_line_error(out)
    assert not (study / "out" / "features").exists()


def test_extract_alone_validates_too(study):
    edit_volume(study / "images" / "P002_disc.nii.gz", lambda a: a * 1e300, np.float64)
    code, out = cli("extract", "radiomics", study, "--quiet")
    assert code == 1 and "P002" in out and "beyond any scanner" in out, out
    assert not (study / "out" / "features").exists()


def test_validation_is_cached_and_a_damaged_entry_is_a_miss(study):
    assert problems_of(study) == []
    cache = study / "out" / ".cache" / "validate"
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 12 * 2  # one verdict per (patient, ROI)
    stamps = [p.stat().st_mtime_ns for p in entries]
    assert problems_of(study) == []
    assert [p.stat().st_mtime_ns for p in entries] == stamps  # read back, not recomputed
    entries[0].write_text("{broken")
    code, out = cli("validate", study)
    assert code == 0 and "unreadable" in out and "checking those files again" in out, out
    assert json.loads(entries[0].read_text())["problems"] == []


# --- security ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../../../../escaped", "a/b", "..", ".hidden", "x" * 65])
def test_unsafe_patient_id_is_refused(study, bad):
    edit_manifest(study, "patient_id", "P001", bad)
    hit = [p for p in problems_of(study, check_files=False) if p[1] == "patient_id"]
    assert hit and "not a safe name" in hit[0][2]


def test_run_refuses_an_unsafe_patient_id_before_writing(study):
    edit_manifest(study, "patient_id", "P001", "../../../../escaped")
    code, out = cli("run", study)
    assert code == 1 and "not a safe name" in out, out
    assert not (study / "out" / "features").exists()
    assert not (study.parent.parent / "escaped").exists()


def test_unsafe_roi_and_rater_names_are_refused_at_load(study):
    edit_config(study, lambda c: c["rois"][0].update(name="../../../escaped"))
    with pytest.raises(ConfigError, match="rois.0.name.*not a safe name"):
        load_study(study)
    edit_config(study, lambda c: c["rois"][0].update(
        name="disc", masks={"../r1": "disc_mask_rater1"}))
    with pytest.raises(ConfigError, match="not a safe name"):
        load_study(study)


def test_every_output_path_stays_inside_the_output_folder(study):
    from spinedlr.segment.stage import mask_path

    s = load_study(study)
    assert mask_path(s, "disc", "P001") == s.output / "masks" / "disc" / "P001.nii.gz"
    with pytest.raises(SpinedlrError, match="outside the study's output folder"):
        mask_path(s, "disc", "../../../../escaped")
    with pytest.raises(SpinedlrError, match="outside the study's output folder"):
        s.out_path("models", "/etc/passwd")


# --- faults and recovery ------------------------------------------------------------------

def test_readonly_output_folder_is_one_line(study):
    probe = Path("/sys/spinedlr-probe")
    try:
        probe.mkdir()
        probe.rmdir()
        pytest.skip("/sys is writable here")
    except OSError:
        pass
    edit_config(study, lambda c: c.update(output=str(probe / "out")))
    code, out = cli("run", study)
    assert code == 1 and "not writable" in out, out
    one_line_error(out)


def test_output_path_that_is_a_file_is_one_line(study):
    (study / "out").write_text("I am a file")
    for args in (("run", study), ("extract", "radiomics", study)):
        code, out = cli(*args)
        assert code == 1 and "is a file, not a folder" in out, out
        one_line_error(out)


def test_report_before_run_says_run_first_and_leaves_nothing(study):
    code, out = cli("report", study)
    assert code == 1 and "run the pipeline first" in out, out
    one_line_error(out)
    assert not (study / "out").exists()


@pytest.mark.parametrize("damage", ["truncated parquet", "broken json", "wrong schema"])
def test_damaged_extract_cache_entry_is_recomputed(done, damage):
    from spinedlr.extract.stage import run

    cache = done / "out" / "features" / "cache" / "radiomics"
    before = pl.read_parquet(done / "out" / "features" / "radiomics.parquet")
    victim = sorted(cache.glob("*.parquet"))[0]
    if damage == "truncated parquet":
        victim.write_bytes(victim.read_bytes()[:100])
    elif damage == "broken json":
        victim.with_suffix(".json").write_text("{not json")
    else:
        pl.DataFrame({"x": [1]}).write_parquet(victim)
    summary = run(load_study(done), show_progress=False)
    assert (summary.n_run, summary.n_failed) == (1, 0)
    assert pl.read_parquet(done / "out" / "features" / "radiomics.parquet").equals(before)
    assert pl.read_parquet(victim).columns == ["image_type", "feature_class", "feature", "value"]


def test_run_reruns_a_stage_whose_output_was_damaged(done):
    from spinedlr.pipeline import run_pipeline

    table = done / "out" / "features" / "radiomics.parquet"
    before = pl.read_parquet(table)
    assert run_pipeline(load_study(done), only=["extract"]) == [("extract", "skipped")]
    table.write_bytes(table.read_bytes()[:500])
    assert run_pipeline(load_study(done), only=["extract"]) == [("extract", "ran")]
    assert pl.read_parquet(table).equals(before)
    (done / "out" / ".cache" / "extract.json").write_text("{")
    assert run_pipeline(load_study(done), only=["extract"]) == [("extract", "ran")]


def test_damaged_feature_table_is_one_line_for_select(done):
    table = done / "out" / "features" / "radiomics.parquet"
    table.write_bytes(table.read_bytes()[:500])
    code, out = cli("select", "run", done)
    assert code == 1 and "is damaged" in out and "spinedlr extract" in out, out
    one_line_error(out)


def test_extract_one_roi_merges_into_the_table(done):
    table = done / "out" / "features" / "radiomics.parquet"
    before = pl.read_parquet(table)
    code, out = cli("extract", "radiomics", done, "--roi", "disc", "--quiet")
    assert code == 0, out
    assert pl.read_parquet(table).equals(before)
    assert pl.read_parquet(done / "out" / "features" / "diagnostics.parquet").height == 12 * 2 * 2


def test_select_failing_half_way_keeps_the_previous_selection(done):
    from spinedlr.select.stage import run

    run(load_study(done))
    sel = done / "out" / "selection"
    before = {p.name: p.read_bytes() for p in sel.iterdir()}
    (sel / "radscore_disc_radiomics.json").unlink()  # would be rewritten by a half-run
    table = done / "out" / "features" / "radiomics.parquet"
    pl.read_parquet(table).filter(pl.col("roi") != "muscle").write_parquet(table)
    with pytest.raises(SpinedlrError, match="muscle"):
        run(load_study(done))
    assert not (sel / "radscore_disc_radiomics.json").exists()
    assert {p.name: p.read_bytes() for p in sel.iterdir()} == {
        k: v for k, v in before.items() if k != "radscore_disc_radiomics.json"}
    assert not list((done / "out").glob(".staging-*"))


def test_too_few_events_in_nested_cv_is_one_line(tmp_path):
    from test_select_stage import write_study

    write_study(tmp_path, n=30, events=12, select={"validation_folds": 5, "lasso_folds": 10})
    code, out = cli("select", "run", tmp_path)
    assert code == 1 and "validation_folds" in out and "10 folds" in out, out
    one_line_error(out)


def test_damaged_resume_checkpoint_starts_fresh(tmp_path):
    from rich.console import Console

    from spinedlr.segment.resume import resume_point

    last = tmp_path / "disc.last.pt"
    last.write_bytes(b"\x80\x02garbage")
    console = Console(record=True, width=200)
    assert resume_point(last, "cpu", console, "disc") is None
    assert "starting fresh" in console.export_text()


def _children(pid: int) -> set[int]:
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    return subprocess.Popen([sys.executable, "-m", "spinedlr.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,  # Ctrl-C as a terminal sends it:
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.slow
def test_workers_die_with_a_killed_extract(study):
    edit_config(study, lambda c: c["extract"].update(params=None))  # ~1 s per task
    proc = _spawn("extract", "radiomics", str(study), "-j", "2", "--quiet")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((study / "out/features/cache/radiomics").glob("*.parquet")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    kids = _children(proc.pid)
    assert len(kids) >= 3  # two workers and the resource tracker
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_how_to_resume(study):
    edit_config(study, lambda c: c["extract"].update(params=None))
    proc = _spawn("run", str(study))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((study / "out/features/cache/radiomics").glob("*.parquet")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "interrupted during extract" in out and "again to resume" in out, out
    assert "Traceback" not in out
    assert not (study / "out" / "features" / "radiomics.parquet").exists()


@pytest.mark.slow
def test_report_escapes_config_text_and_publishes_only_the_html(tmp_path):
    from spinedlr.demo.generate import write_demo_study

    d = tmp_path / "demo"
    write_demo_study(d, n=30, events=12, seed=1)
    name = "<script>alert('x')</script> [link](javascript:alert(1))"
    fast_config(d, name=name, outcome_label="<img src=x onerror=alert(2)>")
    edit_config(d, lambda c: c["select"].update(mrmr_folds=3, lasso_folds=3, svm_rfe_folds=3))
    code, out = cli("run", d, "--report")
    assert code == 0, out
    report = d / "out" / "report"
    html = (report / "study.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert" in html or "&#60;script&#62;alert" in html
    assert str(d) not in html  # no absolute path of study.yaml (or anything else of the study)
    published = {p.relative_to(report).parts[0] for p in report.rglob("*")}
    assert published == {"study.html", "figures"}  # no data/, manifest or template beside it
    assert {p.suffix for p in (report / "figures").iterdir()} == {".png", ".pdf"}
    assert not list((d / "out").glob(".report-*"))
