"""The fused feature tables of a fixed-split study: radiomics of every ROI and image, and
the 3D network's pooled features.

Early fusion (Zou et al. 2025): the features of every structure on every image are
concatenated into one row per patient, each column named ``<roi>__<image>__<feature>``
(``vb_ct__ct__original_firstorder_Mean``, ``disc__t1__original_glcm_Idmn``), so the ROI
and modality of every selected feature can be read off its name and counted in the report.

The main image of each ROI is the extract stage's (``features/radiomics.parquet``, its
cached PyRadiomics tasks, the same parameters: ``extract.normalize: true`` is the paper's
image z-scoring). Further images of a ROI (``rois[].images``, e.g. T1 beside T2) are
extracted here with the same extractor and parameters, for the model rater only.

The 3D network (spinedlr.classify3d) is trained per configured ROI on the training cohort,
its images stacked as channels and cropped to the model rater's mask, the epoch chosen on
the validation cohort; its pooled penultimate features of every patient are the deep
features (``<roi>__dl3d_<i>``). Checkpoints go to ``models3d/<roi>.pt`` and a rerun resumes.

Out-of-fold deep features: the network learns the outcome of its training patients, so its
features of those patients are in-sample, and a DL signature built on them looks better on
the training cohort than anywhere else (0.85 vs 0.63 validation AUC on the zou2025 demo),
which the combined model, fitted on training rows, then over-weights. So the training
patients are also split into ``fusion.deep_signature_folds`` stratified folds and, per ROI
and fold k, a network is trained without fold k (``models3d/fold<k>of<K>/<roi>.pt``); its
features of fold k are what spinedlr.fusion.model turns into fold k's DL signature. The
full network's features serve the validation and test cohorts and the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import SimpleITK as sitk

from spinedlr.config import Roi, Study
from spinedlr.errors import InputError
from spinedlr.extract.tasks import roi_units
from spinedlr.outputs import read_output
from spinedlr.select.tables import feature_name

SEP = "__"


def _qualified(long: pl.DataFrame, image: pl.Expr) -> pl.DataFrame:
    """(patient_id, name, value) with ``roi__image__feature`` names."""
    return long.select(
        pl.col("patient_id").cast(pl.String),
        pl.concat_str([pl.col("roi"), image, feature_name()], separator=SEP).alias("name"),
        pl.col("value").cast(pl.Float64))


def further_images(study: Study, manifest: pl.DataFrame, rater: str) -> pl.DataFrame:
    """Long table (patient_id, roi, image, image_type, feature_class, feature, value) of every
    ROI's further images, model rater only, with the extract stage's parameters."""
    from spinedlr.extract.extractor_settings import PyradiomicsEntry
    from spinedlr.extract.extractors import RadiomicsExtractor
    from spinedlr.extract.configured import regions

    rows: list[dict] = []
    for roi in (r for r in study.config.rois if r.images):
        extractor = RadiomicsExtractor(PyradiomicsEntry(kind="pyradiomics"), study.config.extract,
                                       study.root, roi.dim)
        for row in manifest.iter_rows(named=True):
            for region in regions(study, row, roi):
                if region.rater != rater or region.image_name == roi.image_name:
                    continue
                for (t, c, f), v in extractor.extract(region).items():
                    rows.append({"patient_id": region.unit_id, "roi": region.roi,
                                 "image": region.image_name, "image_type": t,
                                 "feature_class": c, "feature": f, "value": float(v)})
    return pl.DataFrame(rows, schema={"patient_id": pl.String, "roi": pl.String,
                                      "image": pl.String, "image_type": pl.String,
                                      "feature_class": pl.String, "feature": pl.String,
                                      "value": pl.Float64})


def fused_radiomics(study: Study, manifest: pl.DataFrame, rater: str) -> pl.DataFrame:
    """One row per patient (``patient_id`` first), one column per ROI x image x feature."""
    long = read_output(study.paths.radiomics, "spinedlr extract").filter(pl.col("rater") == rater)
    if long.is_empty():
        raise InputError(f"{study.paths.radiomics}: no features of rater {rater!r} "
                         "(fusion.rater)")
    main = {name: roi.image_name for roi in study.config.rois for name, _ in roi_units(roi)}
    parts = [_qualified(long, pl.col("roi").replace_strict(main, return_dtype=pl.String))]
    extra = further_images(study, manifest, rater)
    if extra.height:
        parts.append(_qualified(extra, pl.col("image")))
    named = pl.concat(parts)
    order = named["name"].unique(maintain_order=True).to_list()
    wide = named.pivot(on="name", index="patient_id", values="value").sort("patient_id")
    return wide.select("patient_id", *order)


def feature_counts(names: list[str], selected: list[str] | None = None) -> pl.DataFrame:
    """Features per ROI and image (modality), extracted and selected."""
    parts = [n.split(SEP) for n in names]
    chosen = set(selected or [])
    return (pl.DataFrame({"roi": [p[0] for p in parts], "image": [p[1] for p in parts],
                          "selected": [n in chosen for n in names]})
            .group_by("roi", "image", maintain_order=True)
            .agg(pl.len().alias("extracted"), pl.col("selected").sum().alias("selected")))


def _volume(study: Study, row: dict, roi: Roi, rater: str):
    """One patient's Volume: the ROI's images as channels, the rater's mask of its labels."""
    from spinedlr.classify3d import Volume
    from spinedlr.imaging import read_image

    pid = str(row[study.config.patient_id])
    arrays = [sitk.GetArrayFromImage(read_image(study.resolve_data(row[col]), pid))
              for _, col, _ in roi.image_columns() if row[col] not in (None, "")]
    if len({a.shape for a in arrays}) > 1:
        raise InputError(f"patient {pid}: the images of ROI {roi.name} differ in shape; the 3D "
                         "network stacks them as channels")
    mask = sitk.GetArrayFromImage(read_image(study.resolve_data(row[roi.masks[rater]]), pid))
    return Volume(pid, np.stack(arrays).astype(np.float32), np.isin(mask, list(roi.labels)))


def signature_folds(cohorts: pl.DataFrame, k: int, seed: int) -> np.ndarray:
    """Per cohorts row: the fold (0..k-1) of a training patient, stratified by outcome and
    shuffled with ``seed``; -1 for every other patient."""
    from sklearn.model_selection import StratifiedKFold

    from spinedlr.select.folds import check_events

    train = np.flatnonzero((cohorts["cohort"] == "training").to_numpy())
    y = cohorts["outcome"].to_numpy()[train]
    check_events(y, k, "the out-of-fold DL signature (fusion.deep_signature_folds)")
    fold = np.full(cohorts.height, -1)
    for i, (_, test) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(train, y)):
        fold[train[test]] = i
    return fold


@dataclass(frozen=True)
class DeepFeatures:
    """What ``deep_features`` returns; patient rows in cohorts order.

    ``table``: patient_id + the pooled features of the networks trained on the whole training
    cohort (what validation and test rows get); ``fold``: ``signature_folds``;
    ``fold_tables[k]``: the same columns from the networks trained without fold k;
    ``records``: one row per ROI's full network, with the fold networks' count and seconds.
    """

    table: pl.DataFrame
    records: list[dict]
    fold: np.ndarray
    fold_tables: list[pl.DataFrame]


def training_sets(cohorts: pl.DataFrame, fold: np.ndarray) -> list[list[str]]:
    """The patients each network is trained on: first every training patient (the full
    network), then, per fold k, the training patients outside fold k."""
    train = (cohorts["cohort"] == "training").to_numpy()
    ids = np.asarray(cohorts["patient_id"].to_list(), dtype=object)
    return [ids[train].tolist()] + [ids[train & (fold != k)].tolist() for k in range(fold.max() + 1)]


def train_networks(settings, vols: list, y: dict, members: list[list[str]], val: list,
                   seeds: list[int], paths: list[Path | None]) -> tuple[list[pl.DataFrame], list]:
    """One Classifier3D per training set of ``members`` (patient ids), seeded ``seeds[j]``,
    checkpointed at ``paths[j]``; the ``val`` volumes pick each one's epoch when they hold
    both classes. Returns each network's pooled features of every volume, and the networks."""
    from spinedlr.classify3d import Classifier3D
    from spinedlr.cli_support import console

    val_y = [y[v.patient_id] for v in val]
    tables, nets = [], []
    for train_ids, seed, path in zip(members, seeds, paths, strict=True):
        keep = set(train_ids)
        chosen = [v for v in vols if v.patient_id in keep]
        net = Classifier3D(settings.model_copy(update={"seed": seed}), path, console).fit(
            chosen, [y[v.patient_id] for v in chosen], (val, val_y) if len(set(val_y)) == 2 else None)
        tables.append(net.features(vols))
        nets.append(net)
    return tables, nets


def _record(name: str, settings, vols: list, nets: list) -> dict:
    """The networks-table row of one ROI: its full network, then what the fold networks cost."""
    net = nets[0]
    return {"roi": name, "network": settings.network, "preset": settings.preset,
            "input_size": settings.resolved().input_size, "epochs": settings.resolved().epochs,
            "channels": vols[0].image.shape[0], "parameters": int(net.n_parameters_),
            "best_epoch": int(net.best_epoch_), "best_validation_auc": net.best_auc_,
            "precision": str(net.precision_), "seconds": float(net.seconds_),
            "weights": str(net.weights_), "fold_networks": len(nets) - 1,
            "fold_seconds": float(sum(n.seconds_ for n in nets[1:]))}


def deep_features(study: Study, manifest: pl.DataFrame, cohorts: pl.DataFrame, rater: str,
                  seed: int, models: Path) -> DeepFeatures:
    """Per deep ROI (the i-th): the full network (``models/<roi>.pt``, seed ``seed + i``) and
    the K fold networks (``models/fold<k>of<K>/<roi>.pt``, k = 1..K, seed ``seed + i +
    FUSION_FOLD_STRIDE * k``), each trained without its fold's patients; a rerun resumes them."""
    from spinedlr.cli_support import console
    from spinedlr.seeds import FUSION_FOLD_STRIDE

    fs = study.config.fusion
    wanted = fs.deep_rois or [r.name for r in study.config.rois]
    rois = {r.name: r for r in study.config.rois}
    unknown = [r for r in wanted if r not in rois]
    if unknown:
        raise InputError(f"fusion.deep_rois names unknown ROI(s) {unknown}")
    by_id = {str(r[study.config.patient_id]): r for r in manifest.iter_rows(named=True)}
    role = dict(zip(cohorts["patient_id"], cohorts["cohort"]))
    y = dict(zip(cohorts["patient_id"], cohorts["outcome"]))
    ids, k = cohorts["patient_id"].to_list(), fs.deep_signature_folds
    fold = signature_folds(cohorts, k, seed)
    members = training_sets(cohorts, fold)
    tables, records = [pl.DataFrame({"patient_id": ids}) for _ in members], []
    for i, name in enumerate(wanted):
        vols = [_volume(study, by_id[p], rois[name], rater) for p in ids]
        paths = [models / f"{name}.pt"] + [models / f"fold{j}of{k}" / f"{name}.pt" for j in range(1, k + 1)]
        feats, nets = train_networks(fs.classify3d, vols, y, members,
                                     [v for v in vols if role[v.patient_id] == "validation"],
                                     [seed + i + FUSION_FOLD_STRIDE * j for j in range(k + 1)], paths)
        for j, f in enumerate(feats):
            tables[j] = tables[j].join(f.rename({c: f"{name}{SEP}{c}" for c in f.columns[1:]}),
                                       on="patient_id", how="left", maintain_order="left")
        records.append(_record(name, fs.classify3d, vols, nets))
    console.print(f"fusion: DL signature of the training cohort built out of fold: {k} networks "
                  f"per ROI trained without their fold's patients, beside the full network "
                  f"({sum(r['fold_seconds'] for r in records):.0f} s)")
    return DeepFeatures(tables[0], records, fold, tables[1:])
