"""`spinedlr run`: every stage in order, skipping those whose inputs and settings did not change.

The stages are the `StageSpec` each stage module declares (spinedlr.stage_contract); this
module only runs them in order and keeps a run record per stage.

Why a content hash and not timestamps: studies are copied between machines and re-checked
out from git, which rewrites mtimes; a hash of the bytes that went in (manifest, images,
upstream outputs) and of the stage's settings is the only key that means "same inputs".
"""

from __future__ import annotations

import hashlib
import json

from spinedlr.cli_support import console  # stderr; silent under -q
from spinedlr.compare.stage import SPEC as COMPARE
from spinedlr.config import Study
from spinedlr.design.support import require_supported
from spinedlr.errors import Interrupted
from spinedlr.evaluate.stage import SPEC as EVALUATE
from spinedlr.external.stage import SPEC as EXTERNAL
from spinedlr.extract.deep_stage import SPEC as DEEP
from spinedlr.extract.stage import SPEC as EXTRACT
from spinedlr.fusion.stage import SPEC as FUSION
from spinedlr.grading.stage import SPEC as GRADING
from spinedlr.manifest import require_valid
from spinedlr.outputs import ensure_writable, write_text_atomic
from spinedlr.provenance import provenance, write_provenance
from spinedlr.segment.stage import SPEC as SEGMENT
from spinedlr.select.stage import SPEC as SELECT
from spinedlr.stage_contract import StageContext, StageSpec, hash_path, stage_key

STAGES: tuple[StageSpec, ...] = (SEGMENT, EXTRACT, DEEP, SELECT, EVALUATE, EXTERNAL, COMPARE,
                                  GRADING, FUSION)
"""The pipeline, in order: each stage reads only outputs of the stages before it. The first
six run the reference design (external only with an external cohort); compare runs when
design.models lists classifiers (after external, whose extraction of the external cohort it
reads); grading runs a per-unit multi-class one, fusion a binary fixed-split one after
segment/extract/deep (StageSpec.active)."""

def output_hashes(study: Study, stage: StageSpec) -> dict[str, str | None]:
    """Content hash of each of the stage's declared outputs, optional ones included (None: missing)."""
    out = {}
    for name in (*stage.outputs, *stage.optional_outputs):
        p = study.output / name
        if p.exists():
            h = hashlib.sha256()
            hash_path(h, p)
            out[name] = h.hexdigest()
        else:
            out[name] = None
    return out


def is_fresh(study: Study, stage: StageSpec, key: str) -> bool:
    """True when the stage ran with this key and its outputs are still the bytes it wrote.

    Why the outputs too: a damaged or replaced output (a truncated Parquet file, a partial
    `extract --roi`) would otherwise be trusted and break the next stage.
    """
    f = study.paths.record(stage.name)
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
    if any(now[name] is None for name in stage.outputs):
        return False
    changed = [name for name in now if now[name] != recorded_outputs.get(name)]
    if changed:
        console.print(f"[yellow]{stage.name}: {', '.join(changed)} changed since the stage "
                      "wrote it; re-running[/]")
        return False
    return True


def _write_record(study: Study, stage: StageSpec, key: str) -> None:
    record = {"key": key, "outputs": output_hashes(study, stage)}
    write_text_atomic(study.paths.record(stage.name), json.dumps(record, indent=2))


def _prepare(study: Study, chosen: list[StageSpec]) -> None:
    """Before any stage: the design must be supported, the output folder writable and, when a
    chosen stage reads images, every input file valid (spinedlr.volume_checks; cached, so a
    second run only re-hashes the files)."""
    require_supported(study)
    ensure_writable(study.output)
    if any(s.reads_images for s in chosen):  # stages on tables alone need only the manifest
        require_valid(study, show_progress=not console.quiet,
                      warn=lambda note: console.print(f"[yellow]{note}[/]"))


def run_pipeline(study: Study, force: bool = False, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Run the stages in order; return (stage, "ran" | "skipped" | "disabled") per stage."""
    done: list[tuple[str, str]] = []
    wanted = [s for s in STAGES if not only or s.name in only]
    _prepare(study, [s for s in wanted if s.active(study)])
    ctx = StageContext(show_progress=not console.quiet)
    current = None
    try:
        for stage in wanted:
            if not stage.active(study):
                done.append((stage.name, "disabled"))
                continue
            key = stage_key(study, stage)
            if not force and is_fresh(study, stage, key):
                console.print(f"[dim]{stage.name}: inputs unchanged, skipped[/]")
                done.append((stage.name, "skipped"))
                continue
            console.rule(f"[bold]{stage.name}")
            current = stage.name
            stage.run(study, ctx)
            _write_record(study, stage, key)
            done.append((stage.name, "ran"))
            current = None
    except (KeyboardInterrupt, Interrupted) as err:
        kept = ", ".join(name for name, status in done if status != "disabled") or "none"
        detail = f" ({err})" if str(err) else ""
        raise Interrupted(
            f"interrupted during {current or 'the pipeline'}{detail}; finished stages kept: "
            f"{kept}; outputs are written atomically, so nothing half-written was kept.") from None
    write_provenance(study.paths.provenance, provenance(study.config, "run", {"stages": dict(done)}))
    return done
