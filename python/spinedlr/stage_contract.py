"""The one contract every pipeline stage follows: a `StageSpec` declared by its module.

Why declared data and not a naming convention: the pipeline needs to know, for every stage,
which settings make its results (and so its cache key), which outputs of other stages it
reads, which outputs it writes (what "fresh" is checked against), and how to run it. When each
stage module states these in one `SPEC`, the pipeline is just the list of specs
(``spinedlr.pipeline.STAGES``), a test can check that every stage writes exactly what it
declares, and a new stage (a grading model, a classifier comparison) is one more spec.

A stage's ``run(study, ctx)`` reads its settings from ``study.config``, its inputs from
``study.paths`` and returns a `StageResult`. Its cache key (``stage_key``) hashes only what the
stage declared: the toolkit version, the settings paths it reads (never ``runtime:``), the
study-level keys it reads (``design`` only where declared), the manifest, the image and mask
files when it reads images, and its upstream outputs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import spinedlr

if TYPE_CHECKING:
    from spinedlr.config import Study

CORE_KEYS = ("seed", "patient_id", "outcome", "rois")
"""Study-level settings (outside any section) that every stage's results depend on."""


def no_inputs(study: "Study") -> tuple[Path, ...]:
    """The default ``extra_inputs`` of a stage: none beyond the study's manifest and images."""
    return ()


def always(study: "Study") -> bool:
    """The default ``enabled`` of a stage: it always runs."""
    return True


@dataclass(frozen=True)
class StageContext:
    """What the caller of a stage decides, not the study: progress display and the like."""

    show_progress: bool = True


@dataclass(frozen=True)
class StageResult:
    """What a stage run produced: the outputs it wrote (declared name -> path) and one line."""

    stage: str
    outputs: dict[str, Path]
    summary: str = ""
    details: Any = None


@dataclass(frozen=True)
class StageSpec:
    """One stage: its name, the settings it reads, what it reads and writes, how it runs.

    ``settings`` are dotted paths into the study config (``"extract"``,
    ``"segment.precision"``); ``settings_exclude`` removes sub-sections another stage owns
    (the radiomics stage does not read ``extract.deep``). ``upstream``, ``outputs`` and
    ``optional_outputs`` are paths relative to the output folder (``spinedlr.paths``):
    ``outputs`` are always written, ``optional_outputs`` only when a setting asks for them
    (Grad-CAM figures of named patients); both are checked for damage before a skip.
    ``per_unit_multiclass`` marks a stage of the grading design (see ``active``);
    ``fixed_split`` one of the fusion design (True), one of every other design (False, the
    default: a new stage opts in) or one upstream of both (None: segment, extract, deep).
    ``extra_inputs`` names files outside the output folder the stage reads besides the
    study's manifest and images (the external cohort's manifest and images); they are hashed
    into its key.
    """

    name: str
    settings: tuple[str, ...]
    upstream: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[["Study", StageContext], StageResult]
    reads_images: bool = False
    study_keys: tuple[str, ...] = CORE_KEYS
    settings_exclude: tuple[str, ...] = ()
    optional_outputs: tuple[str, ...] = ()
    enabled: Callable[["Study"], bool] = always
    per_unit_multiclass: bool = False
    fixed_split: bool | None = False
    extra_inputs: Callable[["Study"], tuple[Path, ...]] = no_inputs
    description: str = field(default="", compare=False)

    def active(self, study: "Study") -> bool:
        """Whether the pipeline runs this stage for the study: it is ``enabled`` and it
        implements the study's kind of design. The reference stages (binary outcome, one
        row per patient) do not run for a per-unit multi-class design (a grade per disc),
        and the stages declared ``per_unit_multiclass`` run for nothing else; likewise a
        fixed-split design (spinedlr.design.support.fixed_split) runs its own stages and those
        declared ``fixed_split=None``."""
        from spinedlr.design.support import fixed_split, per_unit_multiclass

        design = study.config.design
        return (per_unit_multiclass(design) == self.per_unit_multiclass
                and self.fixed_split in (None, fixed_split(design))
                and self.enabled(study))

    def settings_snapshot(self, study: "Study") -> dict[str, Any]:
        """The values of every setting this stage reads (what its key hashes)."""
        data = study.config.model_dump(mode="json")
        for path in self.settings_exclude:
            *parents, leaf = path.split(".")
            node = data
            for p in parents:
                node = node[p]
            node.pop(leaf, None)
        snap = {}
        for path in (*self.settings, *self.study_keys):
            node = data
            for p in path.split("."):
                node = node[p]
            snap[path] = node
        return snap


def hash_path(h: "hashlib._Hash", path: Path) -> None:
    """Feed a file's or folder's bytes into h, in a stable order (caches are skipped)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if {".cache", "cache"} & set(f.parts) or f.name.startswith("."):
            continue
        h.update(str(f.relative_to(path.parent)).encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


def input_files(study: "Study") -> list[Path]:
    """Every image and mask file the manifest names for the study's ROIs (empty cells of
    optional images skipped), in manifest order."""
    from spinedlr.manifest import load_manifest

    cfg = study.config
    cols = list(dict.fromkeys(  # ROIs may share an image (several structures on one MRI)
        c for roi in cfg.rois for c in (*(col for _, col, _ in roi.image_columns()),
                                        *roi.masks.values())))
    values = load_manifest(study).select(cols).unpivot()["value"].to_list()
    return [study.resolve_data(v) for v in values if v not in (None, "")]


def stage_key(study: "Study", spec: StageSpec) -> str:
    """Hash of the toolkit version, the stage's declared settings, the manifest and its inputs.

    The version is part of the key because a new release may compute a stage differently:
    after an upgrade every stage runs again.
    """
    h = hashlib.sha256()
    h.update(json.dumps([spec.name, spinedlr.__version__, spec.settings_snapshot(study)],
                        sort_keys=True).encode())
    hash_path(h, study.manifest_path)
    if spec.reads_images:
        for f in input_files(study):
            hash_path(h, f)
    for f in spec.extra_inputs(study):
        hash_path(h, f)
    for name in spec.upstream:
        p = study.output / name
        if p.exists():
            hash_path(h, p)
    return h.hexdigest()
