"""`spinedlr run`: every stage in order, skipping those whose inputs and settings did not change.

Why a content hash and not timestamps: studies are copied between machines and re-checked
out from git, which rewrites mtimes; a hash of the bytes that went in (manifest, images,
upstream outputs) and of the stage's settings is the only key that means "same inputs".
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import spinedlr
from spinedlr.cli_support import console  # stderr; silent under -q
from spinedlr.config import Study
from spinedlr.manifest import load_manifest
from spinedlr.provenance import provenance, write_provenance


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: the module whose `run(study)` does the work, and what it touches."""

    name: str
    module: str
    settings: str
    reads_images: bool
    upstream: tuple[str, ...]
    outputs: tuple[str, ...]
    enabled: Callable[[Study], bool] = lambda study: True
    entry: str = "run"
    study_keys: tuple[str, ...] = ("seed", "patient_id", "outcome", "rois")

    def run(self, study: Study) -> None:
        getattr(importlib.import_module(self.module), self.entry)(study)


STAGES: tuple[Stage, ...] = (
    Stage("segment", "spinedlr.segment.stage", "segment", True, (), ("segmentation", "models"),
          lambda s: s.config.segment.enabled),
    Stage("extract", "spinedlr.extract.stage", "extract", True, (), ("features/radiomics.parquet",)),
    Stage("deep", "spinedlr.extract.deep_stage", "extract", True, ("models",),
          ("features/deep.parquet",),
          lambda s: s.config.extract.deep.enabled and s.config.segment.enabled, "run_deep"),
    Stage("select", "spinedlr.select.stage", "select", False,
          ("features/radiomics.parquet", "features/deep.parquet"),
          ("selection", "radscores.parquet")),
    Stage("evaluate", "spinedlr.evaluate.stage", "evaluate", False, ("radscores.parquet",),
          ("stats",),
          study_keys=("seed", "patient_id", "outcome", "rois", "covariates", "comparator")),
)


def _hash_path(h: "hashlib._Hash", path: Path) -> None:
    """Feed a file's or folder's bytes into h, in a stable order (caches are skipped)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if {".cache", "cache"} & set(f.parts) or f.name.startswith("."):
            continue
        h.update(str(f.relative_to(path.parent)).encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


def stage_key(study: Study, stage: Stage) -> str:
    """Hash of the toolkit version, the stage's settings, the seed, the manifest and its inputs.

    The version is part of the key because a new release may compute a stage differently:
    after an upgrade every stage runs again.
    """
    cfg = study.config
    h = hashlib.sha256()
    settings = getattr(cfg, stage.settings).model_dump(mode="json")
    core = cfg.model_dump(mode="json", include=set(stage.study_keys))
    h.update(json.dumps([stage.name, spinedlr.__version__, settings, core], sort_keys=True).encode())
    _hash_path(h, study.manifest_path)
    if stage.reads_images:
        df = load_manifest(study)
        cols = [c for roi in cfg.rois for c in (roi.image, *roi.masks.values())]
        for rel in df.select(cols).unpivot()["value"].to_list():
            _hash_path(h, study.resolve(rel))
    for name in stage.upstream:
        p = study.output / name
        if p.exists():
            _hash_path(h, p)
    return h.hexdigest()


def _cache_file(study: Study, stage: Stage) -> Path:
    return study.output / ".cache" / f"{stage.name}.key"


def is_fresh(study: Study, stage: Stage, key: str) -> bool:
    f = _cache_file(study, stage)
    outputs_there = all((study.output / o).exists() for o in stage.outputs)
    return outputs_there and f.exists() and f.read_text() == key


def run_pipeline(study: Study, force: bool = False, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Run the stages in order; return (stage, "ran" | "skipped" | "disabled") per stage."""
    done: list[tuple[str, str]] = []
    study.output.mkdir(parents=True, exist_ok=True)
    for stage in STAGES:
        if only and stage.name not in only:
            continue
        if not stage.enabled(study):
            done.append((stage.name, "disabled"))
            continue
        key = stage_key(study, stage)
        if not force and is_fresh(study, stage, key):
            console.print(f"[dim]{stage.name}: inputs unchanged, skipped[/]")
            done.append((stage.name, "skipped"))
            continue
        console.rule(f"[bold]{stage.name}")
        stage.run(study)
        f = _cache_file(study, stage)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(key)
        done.append((stage.name, "ran"))
    write_provenance(study.output / "provenance.json",
                     provenance(study.config, "run", {"stages": dict(done)}))
    return done
