"""The base of every settings model, and the `runtime:` section of study.yaml.

Why one frozen base: a settings object is validated once, when study.yaml is read; a value
assigned afterwards (``s.epochs = 0``) would skip every bound the file is held to, so every
model refuses assignment and unknown keys alike. A change of settings (a command-line
option) builds a new, validated config instead (``Study.override``).

Why a `runtime:` section: how many processes extract features, which Dask scheduler, which
device or how many threads the network uses, whether failures stop the run — none of these
changes a result, so none of them is part of a stage's cache key. Kept apart from the stages'
sections, changing them never re-runs a stage.
"""

from __future__ import annotations

import warnings

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Base of every settings model: unknown keys are errors, and values cannot be reassigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RuntimeSettings(Settings):
    """How a study runs on this machine: nothing here changes a number it computes."""

    workers: int = Field(default=1, ge=1, description="Local worker processes of extraction, "
                         "of validating the input files and of the classifier comparison.")
    scheduler: str | None = Field(
        default=None,
        description="Dask distributed scheduler, 'dask://host:port' or 'tcp://host:port'; "
        "when set, extraction tasks run on that cluster instead of local processes.",
    )
    keep_going: bool = Field(
        default=False, description="Exit 0 even when some extraction tasks failed (they are "
        "still listed).")
    validation_workers: int = Field(
        default=0, ge=0, description="Processes for the full-pipeline CV of the select stage; "
        "0 = every core. The numbers do not depend on it.")
    device: str = Field(default="auto", description="Torch device of the segmentation network: "
                        "'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1'.")
    num_threads: int = Field(
        default=0,
        ge=0,
        description="torch CPU threads; 0 = auto: 1 thread when the machine is oversubscribed "
        "(1-minute load average > CPU count), else torch's default. Measured on 2 cores at load "
        "~9: 4.1 training images/s with 1 thread vs 0.6 with 2 (OpenMP threads stall waiting "
        "for each other when descheduled). Reduction order depends on the thread count, so a "
        "resumed run is bit-identical to an uninterrupted one only at a fixed count: set it "
        "when that matters.",
    )


LEGACY_RUNTIME_KEYS: dict[str, tuple[str, ...]] = {
    "extract": ("workers", "scheduler", "keep_going"),
    "select": ("validation_workers",),
    "segment": ("device", "num_threads"),
}
"""Runtime options that older study files give inside a stage's section."""


class ConfigDeprecationWarning(FutureWarning):
    """A study file uses a key location that still loads but will not forever."""


def move_legacy_runtime_keys(data: dict) -> dict:
    """``data`` with runtime options given at their old places moved into ``runtime:``.

    Each move is announced once (ConfigDeprecationWarning); a key given at both places is a
    ValueError naming both, since which one should win is not ours to guess.
    """
    if not isinstance(data, dict):
        return data
    runtime = dict(data.get("runtime") or {}) if isinstance(data.get("runtime") or {}, dict) else None
    if runtime is None:
        return data
    out, moved = dict(data), []
    for section, keys in LEGACY_RUNTIME_KEYS.items():
        block = out.get(section)
        if not isinstance(block, dict) or not set(keys) & set(block):
            continue
        block = dict(block)
        for key in keys:
            if key not in block:
                continue
            if key in runtime:
                raise ValueError(f"'{key}' is given both as {section}.{key} and runtime.{key}; "
                                 f"keep only runtime.{key}")
            runtime[key] = block.pop(key)
            moved.append(f"{section}.{key}")
        out[section] = block
    if moved:
        warnings.warn(f"{', '.join(moved)}: these options now live in the runtime: section "
                      "(they do not change results, so they no longer re-run stages); move them "
                      "there", ConfigDeprecationWarning, stacklevel=2)
        out["runtime"] = runtime
    return out
