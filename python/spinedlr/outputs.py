"""Where and how stages write: safe names, paths kept inside the output folder, atomic writes.

Why one module: a patient ID or ROI name from a user's files ends up in file names
(``masks/<roi>/<patient>.nii.gz``); every writer must agree on what a safe name is and on
never leaving the study's output folder, and a stage interrupted half-way must leave either
its old outputs or its new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from spinedlr.errors import ConfigError, InputError

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SAFE_ID_RULE = ("1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                "with no '..'")
_SAFE_ID = re.compile(SAFE_ID_PATTERN)


def identifier_problem(value: object) -> str | None:
    """Why ``value`` cannot be used as a patient, ROI or rater name in a file path (None: it can)."""
    text = "" if value is None else str(value)
    if _SAFE_ID.fullmatch(text) and ".." not in text:
        return None
    return f"{text!r} is not a safe name: use {SAFE_ID_RULE}"


def check_identifier(value: str) -> str:
    """Pydantic validator form of ``identifier_problem``."""
    problem = identifier_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def inside(root: Path, *parts: str | Path) -> Path:
    """``root/parts`` resolved, refused unless it lies inside ``root`` (links included)."""
    base = Path(root).resolve()
    path = base.joinpath(*map(str, parts)).resolve()
    if not path.is_relative_to(base):
        raise InputError(f"refusing to write {path}: outside the study's output folder {base}")
    return path


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A reader (or a killed run) therefore sees the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)  # writers that pick the format by extension keep it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text))


@contextlib.contextmanager
def staged(root: Path, replace: tuple[str, ...] = ()) -> Iterator[Path]:
    """Write a stage's outputs into a fresh folder, then move them into ``root`` as one set.

    Inside the block the stage writes under the yielded folder with the same layout as under
    ``root``. On success, each folder named in ``replace`` swaps in whole (files of an older
    run do not linger beside new ones) and every other file replaces its namesake; on any
    error, including Ctrl-C, the staged files are deleted and ``root`` is untouched.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        yield work
        _commit(work, root, replace)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _commit(work: Path, root: Path, replace: tuple[str, ...]) -> None:
    old = work / ".old"
    old.mkdir()
    for name in replace:
        src, dest = work / name, root / name
        if not src.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            os.replace(dest, old / name.replace("/", "_"))
        os.replace(src, dest)
    for src in sorted(p for p in work.rglob("*") if p.is_file() and old not in p.parents):
        dest = root / src.relative_to(work)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)


def read_output(path: Path, made_by: str) -> pl.DataFrame:
    """A stage's Parquet output read back, or one line saying it is damaged and what remakes it."""
    try:
        return pl.read_parquet(path)
    except Exception as err:  # polars raises several types for truncated or foreign files
        raise InputError(f"{path} is damaged ({type(err).__name__}); run `{made_by}` again "
                         "(`spinedlr run` notices damaged outputs and re-runs their stage)") from None


def ensure_writable(folder: Path) -> None:
    """One clear line, before any stage runs, when the output folder cannot be written."""
    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"output folder {folder}: {parent} is a file, not a folder; "
                                  "set `output:` in study.yaml to a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ConfigError(f"output folder {folder} is not writable ({err.strerror or err}); "
                          "set `output:` in study.yaml to a folder you can write") from None
