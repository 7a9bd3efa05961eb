"""`spinedlr demo`: write a complete synthetic study folder.

Layout written under OUT::

    study.yaml            default (reference) configuration, named as the demo
    manifest.csv          patient_id, recurrence, 14 covariates, image and mask paths
    images/<id>_disc.nii.gz, images/<id>_muscle.nii.gz          int16, physical spacing
    masks/rater1/<id>_<roi>.nii.gz, masks/rater2/<id>_<roi>.nii.gz   uint8 labels
    truth.parquet         latents, linear predictor, risk and outcome (what to recover)

Order of draws (see :mod:`spinedlr.demo.outcome`): image latents, disease duration, outcome,
then the other covariates given the outcome, then the images given latents and covariates.
Determinism: every patient draws from its own generator seeded by (seed, 1, patient index),
so a patient's latents do not depend on ``n``; cohort-level draws (duration, outcome noise,
covariates) use the stream (seed, 0). SimpleITK writes gzip headers with a zero timestamp,
so the same seed gives the same bytes. ``truth.parquet`` is written last: its presence marks
a finished study (what ``--skip-existing`` checks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from pydantic_core import to_jsonable_python
from rich.progress import Progress

from spinedlr.config import StudyConfig, dump_config
from spinedlr.demo import anatomy_disc, anatomy_muscle
from spinedlr.demo.clinical import draw_covariates, draw_duration
from spinedlr.demo.files import RATERS, patient_ids, prepare_folder, rng_for, write_volume
from spinedlr.demo.mr_signal import to_int16
from spinedlr.demo.outcome import assign_outcome, duration_effect
from spinedlr.demo.raters import rater_masks
from spinedlr.errors import InputError

ROI_GEOMETRY = {
    "disc": (anatomy_disc.SPACING, anatomy_disc.DIRECTION),
    "muscle": (anatomy_muscle.SPACING, anatomy_muscle.DIRECTION),
}


def _write(array: np.ndarray, roi: str, path: Path) -> None:
    write_volume(array, *ROI_GEOMETRY[roi], path)


def _patient(out: Path, pid: str, rng: np.random.Generator, lat: dict, covs: dict) -> None:
    """Render and write one patient's two volumes and four masks."""
    disc_img, disc_truth = anatomy_disc.render_disc(
        rng, lat["disc_heterogeneity"], covs["pfirrmann"], covs["herniation_type"], covs["modic"]
    )
    muscle_img, muscle_truth = anatomy_muscle.render_muscle(rng, lat["muscle_fat"], covs["bmi"])
    for roi, img, truth in (("disc", disc_img, disc_truth), ("muscle", muscle_img, muscle_truth)):
        _write(to_int16(img), roi, out / "images" / f"{pid}_{roi}.nii.gz")
        for rater, mask in rater_masks(rng, truth).items():
            _write(mask, roi, out / "masks" / rater / f"{pid}_{roi}.nii.gz")


def _paths(pid: str) -> dict[str, str]:
    cols = {}
    for roi in ROI_GEOMETRY:
        cols[f"{roi}_image"] = f"images/{pid}_{roi}.nii.gz"
        for rater in RATERS:
            cols[f"{roi}_mask_{rater}"] = f"masks/{rater}/{pid}_{roi}.nii.gz"
    return cols


def demo_config(seed: int) -> StudyConfig:
    """The reference configuration, renamed; the demo's seed also seeds the pipeline.

    Only what decides the run time on a 2-core laptop departs from the reference: the
    segmentation network trains on 30 patients for 6 epochs at 96 px (the demo's anatomy is
    simple and the masks come from the raters anyway), and extraction uses 2 processes. Every
    statistical setting stays the reference study's.
    """
    return StudyConfig(name="spinedlr demo study (synthetic, PRLDH-like)", seed=seed,
                       segment={"max_train_patients": 30, "epochs": 6, "img_size": 96},
                       runtime={"workers": 2})


def variant_config(seed: int, **changes: object) -> StudyConfig:
    """:func:`demo_config` with another study's keys (outcome, covariates, ROIs, design), each
    a value or settings model, validated exactly as study.yaml is."""
    data = demo_config(seed).model_dump(mode="json") | to_jsonable_python(changes)
    return StudyConfig.model_validate(data)


def write_demo_study(out: Path, n: int = 170, events: int = 39, seed: int = 0) -> None:
    """Write the whole demo study into ``out`` (created; an earlier demo there is replaced)."""
    if n < 4:
        raise InputError(f"--n must be at least 4 patients, got {n}")
    if not 0 < events < n:
        raise InputError(f"--events must be between 1 and n - 1 = {n - 1}, got {events}")
    out = Path(out)
    prepare_folder(out, ["images", *(f"masks/{r}" for r in RATERS)])
    ids = patient_ids(n)
    rngs = [rng_for(seed, 1, i) for i in range(n)]
    latents = pl.DataFrame(
        [dict(zip(("disc_heterogeneity", "muscle_fat"), r.standard_normal(2))) for r in rngs]
    )
    cohort = rng_for(seed, 0)
    duration = draw_duration(cohort, n)
    latents = latents.with_columns(pl.Series("duration_effect", duration_effect(duration)))
    truth = assign_outcome(cohort, latents, events).select(pl.Series("patient_id", ids), pl.all())
    clinical = draw_covariates(cohort, truth["recurrence"].to_numpy(), duration)

    with Progress(transient=True) as progress:
        task = progress.add_task("demo patients", total=n)
        for pid, rng, lat, covs in zip(
            ids, rngs, latents.iter_rows(named=True), clinical.iter_rows(named=True)
        ):
            _patient(out, pid, rng, lat, covs)
            progress.advance(task)

    manifest = pl.concat(
        [
            truth.select("patient_id", "recurrence"),
            clinical,
            pl.DataFrame([_paths(p) for p in ids]),
        ],
        how="horizontal",
    )
    manifest.write_csv(out / "manifest.csv")
    dump_config(demo_config(seed), out / "study.yaml")
    truth.write_parquet(out / "truth.parquet")
