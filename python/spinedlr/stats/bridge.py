"""rpy2 plumbing: start R once, find the R package, convert Polars <-> R data.frames.

Data always travels as R objects (vectors in a data.frame, character vectors of column
names), never as R source text, so a column called ``x); unlink("~")`` is just a name.
R errors become :class:`StatsError` carrying R's own message, which already names the
column and the problem (the R functions are written for that).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from spinedlr.errors import SpinedlrError

_REPO = Path(__file__).resolve().parents[3]
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


class StatsError(SpinedlrError):
    """An R statistic refused its input; the message is R's."""


def _lib_paths() -> list[str]:
    """Where the installed R package lives: R_LIBS first, then the checkout's .Rlib."""
    paths = [p for p in os.environ.get("R_LIBS", "").split(os.pathsep) if p]
    local = _REPO / ".Rlib"
    if not paths and local.is_dir():
        paths.append(str(local))
        os.environ["R_LIBS"] = str(local)  # read by R at start-up, if it has not started yet
    return paths


def _r() -> dict[str, Any]:
    """Start R (once per process) and load the package; cached."""
    with _LOCK:
        if _STATE:
            return _STATE
        paths = _lib_paths()
        library_path = os.environ.get("LD_LIBRARY_PATH")
        import rpy2.rinterface as ri
        import rpy2.robjects as ro

        # rpy2 prepends R's and the system's library folders to LD_LIBRARY_PATH. This process
        # has already loaded its libraries, but child processes (extraction workers, a Dask
        # cluster) would load the system's instead of their Python's own and fail to start.
        if library_path is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = library_path
        from rpy2.rinterface_lib import callbacks
        from rpy2.rinterface_lib.embedded import RRuntimeError
        from rpy2.robjects.packages import PackageNotInstalledError, importr

        # R prints errors and warnings to the console too; the exception carries the message.
        callbacks.consolewrite_warnerror = lambda s: None
        if paths:
            current = list(ro.r[".libPaths"]())
            ro.r[".libPaths"](ro.StrVector(paths + [p for p in current if p not in paths]))
        try:
            pkg = importr("spinedlr")
        except PackageNotInstalledError:
            raise StatsError(
                f"the R package 'spinedlr' is not installed (R library paths: "
                f"{list(ro.r['.libPaths']())}); run `make setup`"
            ) from None
        _STATE.update(ro=ro, ri=ri, pkg=pkg, error=RRuntimeError)
        return _STATE


def _r_message(state: dict[str, Any], err: Exception) -> str:
    msg = str(state["ro"].r["geterrmessage"]()[0]).strip() or str(err).strip()
    for prefix in ("Error: ",):
        if msg.startswith(prefix):
            return msg[len(prefix):].strip()
    if msg.startswith("Error in ") and " : " in msg:
        return msg.split(" : ", 1)[1].strip()
    return msg


def to_r(df: pl.DataFrame) -> Any:
    """A Polars frame as an R data.frame (names kept verbatim; Enum/Categorical -> factor)."""
    st = _r()
    ro, ri = st["ro"], st["ri"]
    cols = []
    for name in df.columns:
        s = df[name]
        dt = s.dtype
        if isinstance(dt, (pl.Enum, pl.Categorical)):
            levels = list(dt.categories) if isinstance(dt, pl.Enum) else s.unique(maintain_order=True).drop_nulls().to_list()
            codes = [ri.NA_Integer if v is None else levels.index(v) + 1 for v in s.cast(pl.Utf8).to_list()]
            vec = ro.r["structure"](ro.IntVector(codes), levels=ro.StrVector(levels), **{"class": "factor"})
        elif dt == pl.Boolean:
            vec = ro.BoolVector([ri.NA_Logical if v is None else v for v in s.to_list()])
        elif dt.is_integer():
            vals = s.to_list()
            if all(v is None or abs(v) < 2**31 - 1 for v in vals):
                vec = ro.IntVector([ri.NA_Integer if v is None else v for v in vals])
            else:
                vec = ro.FloatVector([ri.NA_Real if v is None else float(v) for v in vals])
        elif dt.is_numeric():
            vec = ro.FloatVector([ri.NA_Real if v is None else v for v in s.cast(pl.Float64).to_list()])
        elif dt == pl.Utf8:
            vec = ro.StrVector([ri.NA_Character if v is None else v for v in s.to_list()])
        else:
            raise StatsError(f"column '{name}' has type {dt}, which the statistics cannot use")
        cols.append((name, vec))
    cols += [("check.names", ro.BoolVector([False])), ("stringsAsFactors", ro.BoolVector([False]))]
    return ro.baseenv["data.frame"].rcall(cols, ro.globalenv)


def from_r(rdf: Any) -> pl.DataFrame:
    """An R data.frame as a Polars frame (factors -> text, NA -> null)."""
    st = _r()
    ro = st["ro"]
    is_na = ro.baseenv["is.na"]
    out: dict[str, pl.Series] = {}
    for name, col in zip(rdf.names, rdf):
        na = list(is_na(col))
        if isinstance(col, ro.vectors.FactorVector):
            levels = list(col.levels)
            vals = [None if m else levels[c - 1] for c, m in zip(col, na)]
            out[name] = pl.Series(name, vals, dtype=pl.Utf8)
        elif isinstance(col, ro.vectors.StrVector):
            out[name] = pl.Series(name, [None if m else str(v) for v, m in zip(col, na)], dtype=pl.Utf8)
        elif isinstance(col, ro.vectors.BoolVector):
            out[name] = pl.Series(name, [None if m else bool(v) for v, m in zip(col, na)], dtype=pl.Boolean)
        elif isinstance(col, ro.vectors.IntVector):
            out[name] = pl.Series(name, [None if m else int(v) for v, m in zip(col, na)], dtype=pl.Int64)
        else:
            out[name] = pl.Series(name, [None if m else float(v) for v, m in zip(col, na)], dtype=pl.Float64)
    return pl.DataFrame(out)


def _arg(value: Any) -> Any:
    st = _r()
    ro = st["ro"]
    if value is None:
        return ro.NULL
    if isinstance(value, ro.RObjectMixin):  # an R result passed back (a fitted nomogram)
        return value
    if isinstance(value, pl.DataFrame):
        return to_r(value)
    if isinstance(value, pl.Series):
        value = value.to_list()
    if isinstance(value, str):
        return ro.StrVector([value])
    if isinstance(value, bool):
        return ro.BoolVector([value])
    if isinstance(value, (int, float)):
        return ro.FloatVector([float(value)])
    if isinstance(value, Sequence) or hasattr(value, "tolist"):
        seq = list(value.tolist() if hasattr(value, "tolist") else value)
        if all(isinstance(v, str) for v in seq):
            return ro.StrVector(seq)
        return ro.FloatVector([float(v) for v in seq])
    raise TypeError(f"cannot pass {type(value).__name__} to R")


def _invoke(function: str, kwargs: dict[str, Any]) -> Any:
    st = _r()
    fn = getattr(st["pkg"], function)
    args = {k: _arg(v) for k, v in kwargs.items()}
    try:
        return fn(**args)
    except st["error"] as err:
        raise StatsError(f"{function}: {_r_message(st, err)}") from None


def call_object(function: str, **kwargs: Any) -> Any:
    """The R result itself, for a fit that another call reads (``nomogram_score`` of a
    ``nomogram``)."""
    return _invoke(function, kwargs)


def call(function: str, **kwargs: Any) -> pl.DataFrame:
    """Call an exported function of the R package with Python values; a Polars frame back."""
    return from_r(_invoke(function, kwargs))


def call_value(function: str, **kwargs: Any) -> float:
    """Call an exported R function that returns one number."""
    return float(_invoke(function, kwargs)[0])


def r_versions() -> dict[str, str]:
    """Versions of R and the R packages the statistics depend on (for provenance)."""
    st = _r()
    ro = st["ro"]
    out = {"R": str(ro.r["R.version.string"][0])}
    pv = ro.baseenv["as.character"]
    for p in ("spinedlr", "pROC", "rms"):
        out[p] = str(pv(ro.r["packageVersion"](p))[0])
    return out


def r_library() -> str:
    """The R library folder holding the `spinedlr` package this process uses (exported
    scripts add it to .libPaths(), so they run without R_LIBS)."""
    st = _r()
    ro = st["ro"]
    return str(Path(str(ro.r["find.package"]("spinedlr")[0])).parent)
