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
from spinedlr.errors import Interrupted
from spinedlr.manifest import load_manifest, require_valid
from spinedlr.outputs import ensure_writable, write_text_atomic
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


def _record_file(study: Study, stage: Stage) -> Path:
    return study.output / ".cache" / f"{stage.name}.json"


def output_hashes(study: Study, stage: Stage) -> dict[str, str | None]:
    """Content hash of each of the stage's outputs (None: missing)."""
    out = {}
    for name in stage.outputs:
        p = study.output / name
        if p.exists():
            h = hashlib.sha256()
            _hash_path(h, p)
            out[name] = h.hexdigest()
        else:
            out[name] = None
    return out


def is_fresh(study: Study, stage: Stage, key: str) -> bool:
    """True when the stage ran with this key and its outputs are still the bytes it wrote.

    Why the outputs too: a damaged or replaced output (a truncated Parquet file, a partial
    `extract --roi`) would otherwise be trusted and break the next stage.
    """
    f = _record_file(study, stage)
    if not f.exists():
        return False
    try:
        record = json.loads(f.read_text())
        recorded_key, recorded_outputs = record["key"], record["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        console.print(f"[yellow]{stage.name}: its run record {f.name} is unreadable; re-running[/]")
        return False
    if recorded_key != key:
        return False
    now = output_hashes(study, stage)
    if None in now.values():
        return False
    changed = [name for name in stage.outputs if now[name] != recorded_outputs.get(name)]
    if changed:
        console.print(f"[yellow]{stage.name}: {', '.join(changed)} changed since the stage "
                      "wrote it; re-running[/]")
        return False
    return True


def _write_record(study: Study, stage: Stage, key: str) -> None:
    record = {"key": key, "outputs": output_hashes(study, stage)}
    write_text_atomic(_record_file(study, stage), json.dumps(record, indent=2))


def run_pipeline(study: Study, force: bool = False, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Run the stages in order; return (stage, "ran" | "skipped" | "disabled") per stage.

    Before any stage: the output folder must be writable and, when a chosen stage reads
    images, every input file must pass validation (spinedlr.volume_checks; cached, so a
    second run only re-hashes the files).
    """
    done: list[tuple[str, str]] = []
    ensure_writable(study.output)
    chosen = [s for s in STAGES if (not only or s.name in only) and s.enabled(study)]
    if any(s.reads_images for s in chosen):  # stages on tables alone need only the manifest
        require_valid(study, show_progress=not console.quiet,
                      warn=lambda note: console.print(f"[yellow]{note}[/]"))
    current = None
    try:
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
            current = stage.name
            stage.run(study)
            _write_record(study, stage, key)
            done.append((stage.name, "ran"))
            current = None
    except (KeyboardInterrupt, Interrupted) as err:
        kept = ", ".join(name for name, status in done if status != "disabled") or "none"
        detail = f" ({err})" if str(err) else ""
        raise Interrupted(
            f"interrupted during {current or 'the pipeline'}{detail}; finished stages kept: "
            f"{kept}; outputs are written atomically, so nothing half-written was kept.") from None
    write_provenance(study.output / "provenance.json",
                     provenance(study.config, "run", {"stages": dict(done)}))
    return done
