"""The segment stage: per ROI, train on one rater's masks, predict every patient, evaluate.

Outputs (under ``study.output``): ``models/<roi>.pt`` (best on validation; ``<roi>.last.pt``
for resuming), ``masks/<roi>/<patient_id>.nii.gz``, ``segmentation/metrics.parquet``
(patient_id, roi, label, label_name, dice, hd95_mm, trained_on: whether the patient's masks
trained the network) and ``segmentation/provenance.json``.

Every case of every requested ROI is read and checked before anything is written, so bad
input stops the stage with a message naming the patient and file and no half-written output.
Note: predictions are made for all patients, including those the network trained on; only
the rows with ``trained_on`` false measure generalisation (the report shows the two apart).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from spinedlr.config import Roi, Study
from spinedlr.errors import ConfigError, InputError
from spinedlr.imaging import read_image, to_array, write_like
from spinedlr.manifest import load_manifest
from spinedlr.outputs import write_atomic
from spinedlr.paths import MASKS, MODELS, SEGMENTATION
from spinedlr.provenance import provenance, write_provenance
from spinedlr.seeds import SEGMENT_ROI_STRIDE, stage_seed
from spinedlr.stage_contract import StageContext, StageResult, StageSpec
from spinedlr.segment.checkpoint import load_model
from spinedlr.segment.data import Case, load_case
from spinedlr.segment.metrics import evaluate_case, metrics_frame
from spinedlr.segment.predict import predict_volume
from spinedlr.segment.runtime import configure_threads, resolve_device
from spinedlr.segment.train import TrainResult, train_model

def _rois(study: Study, names: list[str] | None) -> list[Roi]:
    cfg = study.config
    if not names:
        return list(cfg.rois)
    try:
        return [cfg.roi(n) for n in names]
    except KeyError as err:
        raise ConfigError(str(err.args[0])) from None


def model_path(study: Study, roi: str) -> Path:
    return study.paths.model(roi)


def mask_path(study: Study, roi: str, patient_id: str) -> Path:
    return study.paths.mask(roi, patient_id)


def _mask_column(study: Study, roi: Roi) -> str:
    rater = study.config.segment.train_rater
    if rater not in roi.masks:
        raise ConfigError(
            f"{study.path}: segment.train_rater {rater!r} has no mask column for ROI "
            f"{roi.name!r} (raters: {sorted(roi.masks)})"
        )
    return roi.masks[rater]


def load_roi_cases(study: Study, roi: Roi, with_masks: bool, console: Console) -> list[Case]:
    """Read and check every patient's image (and training mask) for one ROI."""
    df = load_manifest(study)
    pid_col, mcol = study.config.patient_id, _mask_column(study, roi)
    cases = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"checking {roi.name} volumes", total=df.height)
        for row in df.iter_rows(named=True):
            pid = str(row[pid_col])
            if row[roi.image] is None:
                raise InputError(f"patient {pid}: no {roi.image} path in {study.manifest_path}")
            mask = None
            if with_masks:
                if row[mcol] is None:
                    raise InputError(f"patient {pid}: no {mcol} path in {study.manifest_path}")
                mask = study.resolve_data(row[mcol])
            cases.append(
                load_case(
                    pid, [study.resolve_data(row[roi.image])], mask, sorted(roi.labels),
                    roi.slice_axis, roi.min_slices,
                )
            )
            progress.advance(task)
    return cases


def training_rows(study: Study, n: int) -> list[int]:
    """Manifest rows whose masks train the network (and choose its checkpoint): all, or a
    seeded sample of ``segment.max_train_patients``. The metrics mark the others as unseen."""
    cap = study.config.segment.max_train_patients
    if not cap or n <= cap:
        return list(range(n))
    keep = np.random.default_rng(stage_seed(study, "segment")).choice(n, cap, replace=False)
    return sorted(int(j) for j in keep)


def train_study(
    study: Study, rois: list[str] | None = None, resume: bool = True, console: Console | None = None
) -> dict[str, TrainResult]:
    """Train one network per ROI; returns the training summaries."""
    console = console or Console(stderr=True)
    selected = _rois(study, rois)
    loaded = {roi.name: load_roi_cases(study, roi, True, console) for roi in selected}
    results = {}
    for i, roi in enumerate(selected):
        keep = training_rows(study, len(loaded[roi.name]))
        cases = [loaded[roi.name][j] for j in keep]
        results[roi.name] = train_model(
            cases,
            roi=roi.name,
            labels=roi.labels,
            slice_axis=roi.slice_axis,
            settings=study.config.segment,
            runtime=study.config.runtime,
            seed=stage_seed(study, "segment") + SEGMENT_ROI_STRIDE * i,
            out_path=model_path(study, roi.name),
            resume=resume,
            console=console,
            number_by_position=roi.number_by_position,
        )
    return results


def check_model_fits(path: Path, meta: dict, roi: Roi) -> None:
    """Refuse a model trained for another ROI, label set or numbering (a ConfigError naming
    every difference): its predictions would carry the wrong labels without any error."""
    nbp = roi.number_by_position
    wanted = {"roi": roi.name, "labels": sorted(roi.labels),
              "number_by_position": nbp.model_dump() if nbp else None}
    trained = {"roi": meta["roi"], "labels": sorted(meta["label_values"]),
               "number_by_position": meta.get("number_by_position")}
    changed = [k for k in wanted if wanted[k] != trained[k]]
    if changed:
        was = ", ".join(f"{k}={trained[k]!r}" for k in changed)
        now = ", ".join(f"{k}={wanted[k]!r}" for k in changed)
        raise ConfigError(f"{path} was trained with {was}; the study's ROI {roi.name!r} has {now}: retrain")


def predict_study(study: Study, rois: list[str] | None = None, console: Console | None = None) -> None:
    """Predict masks for every patient with each ROI's trained model."""
    console = console or Console(stderr=True)
    s, runtime = study.config.segment, study.config.runtime
    configure_threads(runtime.num_threads)
    selected = _rois(study, rois)
    loaded = {roi.name: load_roi_cases(study, roi, False, console) for roi in selected}
    models = {roi.name: load_model(model_path(study, roi.name), resolve_device(runtime.device)) for roi in selected}
    for roi in selected:
        model, meta = models[roi.name]
        check_model_fits(model_path(study, roi.name), meta, roi)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"predicting {roi.name}", total=len(loaded[roi.name]))
            for case in loaded[roi.name]:
                pred = predict_volume(
                    model, meta, case.image, case.reference, s.largest_component,
                    precision=s.precision, channels_last=s.channels_last,
                )
                write_like(to_array(pred), case.reference, mask_path(study, roi.name, case.case_id))
                progress.advance(task)


def evaluate_study(study: Study, rois: list[str] | None = None, console: Console | None = None) -> pl.DataFrame:
    """Dice and HD95 of the predicted masks against the training rater's masks."""
    console = console or Console(stderr=True)
    df = load_manifest(study)
    rows = []
    for roi in _rois(study, rois):
        mcol = _mask_column(study, roi)
        for row in df.iter_rows(named=True):
            pid = str(row[study.config.patient_id])
            pred_file = mask_path(study, roi.name, pid)
            pred = read_image(pred_file, pid)
            truth = read_image(study.resolve_data(row[mcol]), pid)
            rows += evaluate_case(pid, roi.name, to_array(pred), to_array(truth), roi.labels, truth.GetSpacing())
    ids = [str(p) for p in df[study.config.patient_id].to_list()]
    seen = {ids[j] for j in training_rows(study, len(ids))}
    table = metrics_frame(rows).with_columns(pl.col("patient_id").is_in(seen).alias("trained_on"))
    out = write_atomic(study.paths.segmentation_metrics, table.write_parquet)
    write_provenance(
        out.parent / "provenance.json",
        provenance(study.config, "segment", {"preset": study.config.segment.resolved().model_dump()}),
    )
    console.print(summary_table(table))
    return table


def summary_table(metrics: pl.DataFrame) -> Table:
    """Mean Dice and HD95 per ROI and label, for the terminal."""
    agg = (
        metrics.group_by("roi", "label", "label_name", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("dice").mean(), pl.col("hd95_mm").mean())
        .sort("roi", "label")
    )
    t = Table(title="Segmentation vs reference masks (mean over cases)")
    for c in ("ROI", "label", "name", "n", "Dice", "HD95 (mm)"):
        t.add_column(c)
    for r in agg.iter_rows(named=True):
        hd = "-" if r["hd95_mm"] is None or np.isnan(r["hd95_mm"]) else f"{r['hd95_mm']:.2f}"
        t.add_row(r["roi"], str(r["label"]), r["label_name"], str(r["n"]), f"{r['dice']:.3f}", hd)
    return t


def run(study: Study, rois: list[str] | None = None, resume: bool = True, console: Console | None = None) -> pl.DataFrame:
    """Train, predict and evaluate every (or the named) ROI; returns the metrics table."""
    console = console or Console(stderr=True)
    if not study.config.segment.enabled:
        console.print("segment stage disabled in study.yaml; skipped")
        return metrics_frame([])
    train_study(study, rois, resume, console)
    predict_study(study, rois, console)
    return evaluate_study(study, rois, console)


def _run_stage(study: Study, ctx: StageContext) -> StageResult:
    table = run(study)
    return StageResult(SPEC.name, {n: study.output / n for n in SPEC.outputs},
                       f"{table.height} mask(s) evaluated", table)


def _enabled(study: Study) -> bool:
    return study.config.segment.enabled


SPEC = StageSpec(
    name="segment",
    settings=("segment",),
    upstream=(),
    outputs=(SEGMENTATION, MODELS, MASKS),
    run=_run_stage,
    reads_images=True,
    enabled=_enabled,
    fixed_split=None,  # upstream of the fusion stage too
    description="UCTransNet per ROI: train, predict every patient, Dice and HD95",
)
