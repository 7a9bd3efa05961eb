"""On the demo study the disc Radscore recovers the generator's latent disc signal.

Needs the demo generator and the extraction stage (other packages of this project); the
test skips, saying which is missing, until both are present.
"""

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

demo = pytest.importorskip("spinedlr.demo.generate", reason="demo generator not available")
extract = pytest.importorskip("spinedlr.extract.stage", reason="extraction stage not available")


@pytest.mark.slow
def test_demo_disc_radscore_auc_matches_latent_truth(tmp_path):
    from spinedlr.config import load_study
    from spinedlr.select.stage import run

    demo.write_demo_study(tmp_path, n=170, events=39, seed=0)
    study = load_study(tmp_path)
    extract.run(study, show_progress=False)
    run(study)
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    rs = pl.read_parquet(study.output / "radscores.parquet").join(truth, on="patient_id")
    y = rs["outcome"].to_numpy()
    latent = roc_auc_score(y, rs["disc_heterogeneity"])
    disc = roc_auc_score(y, rs["radscore_disc"])
    muscle = roc_auc_score(y, rs["radscore_muscle"])
    assert abs(disc - latent) <= 0.05, (disc, latent)
    assert muscle < disc, (muscle, disc)
