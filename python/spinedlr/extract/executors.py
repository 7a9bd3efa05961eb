"""Run a list of tasks serially, on a local process pool, or on a Dask distributed cluster.

All three call the same worker function on the same task objects and hand results back to one
callback in the parent, which caches and assembles them in task order — so the output does not
depend on which executor ran, only the wall time does.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)

from spinedlr.errors import ConfigError
from spinedlr.extract.radiomics_task import THREAD_ENV, limit_threads, single_threaded

OnResult = Callable[[int, dict], None]


def scheduler_address(scheduler: str) -> str:
    """'dask://host:port' (study.yaml form) or 'tcp://host:port' -> the address Dask wants."""
    if scheduler.startswith("dask://"):
        return "tcp://" + scheduler.removeprefix("dask://")
    if scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        return scheduler
    raise ConfigError(
        f"extract.scheduler: {scheduler!r} is not a Dask address (use dask://HOST:PORT or "
        "tcp://HOST:PORT)"
    )


@contextlib.contextmanager
def single_threaded_children() -> Iterator[None]:
    """Thread-count variables set while worker processes start (they inherit them), then restored.

    They must be in the environment before a worker imports numpy/ITK; setting them inside the
    worker is too late for BLAS pools created at import.
    """
    saved = {v: os.environ.get(v) for v in THREAD_ENV}
    os.environ.update({v: "1" for v in THREAD_ENV})
    try:
        yield
    finally:
        for var, val in saved.items():
            if val is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = val


def progress_bar(console: Console | None = None, enabled: bool = True) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=console or Console(stderr=True), disable=not enabled, transient=False,
    )


def run_tasks(
    tasks: Sequence, fn: Callable, on_result: OnResult, *, workers: int = 1,
    scheduler: str | None = None, description: str = "extracting", show_progress: bool = True,
) -> str:
    """Run ``fn(task)`` for every task; call ``on_result(index, result)`` as each finishes.

    Returns a short name of the executor used (recorded in the diagnostics).
    """
    with progress_bar(enabled=show_progress) as bar:
        pid = bar.add_task(description, total=len(tasks))

        def done(i: int, result: dict) -> None:
            on_result(i, result)
            bar.advance(pid)

        if not tasks:
            return "none"
        if scheduler:
            return _run_dask(tasks, fn, done, scheduler_address(scheduler))
        if workers <= 1:
            with single_threaded():
                for i, task in enumerate(tasks):
                    done(i, fn(task))
            return "serial"
        return _run_pool(tasks, fn, done, workers)


def _crash_record(err: BaseException) -> dict:
    return {"ok": False, "error_type": type(err).__name__, "error": f"worker died: {err!r}",
            "traceback": "", "seconds": float("nan"), "cpu_seconds": float("nan"),
            "peak_rss_mb": float("nan"), "pid": -1}


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Make this worker process end when the process that started it ends, even by SIGKILL.

    Why: a killed ``spinedlr extract`` must not leave workers (and, through them, the
    multiprocessing resource tracker) running as orphans. Linux: the kernel sends SIGKILL on
    the parent's death (prctl PR_SET_PDEATHSIG); elsewhere a daemon thread polls the parent.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _init_worker(parent: int) -> None:
    die_with_parent(parent)
    limit_threads()


def _run_pool(tasks: Sequence, fn: Callable, done: OnResult, workers: int) -> str:
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding threads/locks
    with single_threaded_children():
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(tasks)), mp_context=ctx, initializer=_init_worker,
            initargs=(os.getpid(),),
        )
        try:
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                err = fut.exception()
                done(futures[fut], _crash_record(err) if err else fut.result())
        except BaseException:  # Ctrl-C: drop queued tasks and stop the running ones now
            # no public API before Python 3.14 (terminate_workers); finished tasks are cached
            # by the parent, so only the tasks in flight are lost
            running = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in running:
                proc.terminate()
            raise
        pool.shutdown()
    return f"processes:{workers}"


def _in_dask_worker(fn: Callable, task) -> dict:
    """Dask workers are dedicated processes: limit their threads for good, then run."""
    limit_threads()
    return fn(task)


def _run_dask(tasks: Sequence, fn: Callable, done: OnResult, address: str) -> str:
    from distributed import Client
    from distributed import as_completed as dask_completed

    try:
        client = Client(address, timeout="20s")
    except OSError as err:
        raise ConfigError(f"cannot reach Dask scheduler {address}: {err}") from None
    try:
        futures = [client.submit(_in_dask_worker, fn, t, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            i = index[fut.key]
            if fut.status == "error":
                done(i, _crash_record(fut.exception()))
            else:
                done(i, fut.result())
            fut.release()
        return f"dask:{address}"
    finally:
        client.close()
