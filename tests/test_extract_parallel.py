"""Executors and failure handling: serial, process pool and a real Dask LocalCluster give
identical tables; one bad case is recorded, the rest complete, and the run says so."""

from __future__ import annotations

import polars as pl
import pytest
import SimpleITK as sitk
from extract_helpers import DISCS, SMALL_PARAMS, disc_study, needs_discs, write_params
from typer.testing import CliRunner

from spinedlr.cli import app
from spinedlr.config import load_study
from spinedlr.errors import ConfigError
from spinedlr.extract.executors import scheduler_address
from spinedlr.extract.stage import ExtractionFailed, run

pytestmark = [pytest.mark.shared, pytest.mark.skipif(**needs_discs)]
FEATURES = ("out", "features")


def _study(folder, **kw):
    return disc_study(folder, extract={"params": write_params(folder, SMALL_PARAMS)}, **kw)


@pytest.mark.slow
def test_serial_pool_and_dask_cluster_give_identical_tables(tmp_path):
    from distributed import LocalCluster

    tables = {}
    for how in ("serial", "pool", "dask"):
        path = _study(tmp_path / how)
        if how == "dask":
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                # the study.yaml form of the setting: scheduler: dask://HOST:PORT
                address = cluster.scheduler_address.replace("tcp://", "dask://")
                path = disc_study(tmp_path / how, extract={
                    "params": write_params(tmp_path / how, SMALL_PARAMS), "scheduler": address})
                summary = run(load_study(path), show_progress=False)
        else:
            study = load_study(path).override("runtime", "workers",
                                              workers=1 if how == "serial" else 2)
            summary = run(study, show_progress=False)
        assert summary.n_run == 10 and summary.n_failed == 0
        tables[how] = pl.read_parquet(path.parent.joinpath(*FEATURES, "radiomics.parquet"))
        diag = pl.read_parquet(path.parent.joinpath(*FEATURES, "diagnostics.parquet"))
        assert diag["executor"].str.starts_with({"serial": "serial", "pool": "processes",
                                                 "dask": "dask"}[how]).all()
        if how != "serial":  # the work really was spread over two processes
            assert diag["worker_pid"].n_unique() == 2
    assert tables["serial"].height == 10 * (14 + 18 + 24)
    assert tables["serial"].equals(tables["pool"])
    assert tables["serial"].equals(tables["dask"])


def test_one_bad_case_is_recorded_and_the_rest_complete(tmp_path):
    # a mask whose geometry does not match its image: a realistic user error
    bad = tmp_path / "bad_mask.nii.gz"
    mask = sitk.ReadImage(str(DISCS / "case20_discs.nii.gz"))
    sitk.WriteImage(mask[:, :, :40], str(bad))
    path = _study(tmp_path, labels={1: "L5S1"}, combine="union",
                  overrides={"case20": {"disc_mask_rater1": str(bad)}})
    with pytest.raises(ExtractionFailed, match="case20"):
        run(load_study(path), show_progress=False)
    out = path.parent.joinpath(*FEATURES)
    failures = pl.read_parquet(out / "failures.parquet")
    assert failures["patient_id"].to_list() == ["case20"]
    assert "does not match image" in failures["error"][0] and str(bad) in failures["error"][0]
    features = pl.read_parquet(out / "radiomics.parquet")
    assert features["patient_id"].unique().to_list() == ["case11"]

    # the CLI validates every file first: it names the bad mask and touches no table
    before = (out / "radiomics.parquet").read_bytes()
    result = CliRunner().invoke(app, ["extract", "radiomics", str(path), "--quiet", "--keep-going"])
    assert result.exit_code == 1
    assert "case20" in result.output and "geometry differs" in result.output
    assert (out / "radiomics.parquet").read_bytes() == before


def test_union_of_labels_is_one_roi(tmp_path):
    """combine="union": all configured labels form one ROI (voxel count = sum of the labels)."""
    path = _study(tmp_path, labels={1: "L5S1", 2: "L4L5"}, combine="union")
    threads = sitk.ProcessObject_GetGlobalDefaultNumberOfThreads()
    run(load_study(path), patients=["case11"], show_progress=False)
    # serial runs are single-threaded only while they run: the caller's process gets its
    # thread settings back (later stages, e.g. training, need them)
    assert sitk.ProcessObject_GetGlobalDefaultNumberOfThreads() == threads
    diag = pl.read_parquet(path.parent.joinpath(*FEATURES, "diagnostics.parquet"))
    assert diag["roi"].to_list() == ["disc"] and diag["labels"].to_list() == ["1,2"]
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(DISCS / "case11_discs.nii.gz")))
    assert diag["voxel_count"][0] == int(((arr == 1) | (arr == 2)).sum())


def test_scheduler_addresses():
    assert scheduler_address("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("tcp://h:1") == "tcp://h:1"
    with pytest.raises(ConfigError, match="not a Dask address"):
        scheduler_address("http://h:1")
