"""The daemon's child processes: each pool process builds one worker object when it starts and
runs the daemon's calls on it.

A `ProcessPoolExecutor` can only send picklable callables, so a bound method of an object that
lives in the child cannot be submitted. The pool's initializer (`start`) therefore builds the
object once and keeps it in this module; the daemon submits `call("method", *args)`. Tests
build the same objects directly (`ScoringWorker(engine, scorer, ...)`) and call their methods.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

# The worker object of this process (set once by `start`; None in the daemon itself).
_worker: Any = None


def _exit_with_parent(parent: int) -> None:
    """A pool's workers outlive a parent killed with SIGKILL (or by the OOM killer): they
    hold both ends of their task pipe, so they wait for work for ever, 450 MB each (found
    after bench/fault_runs.py: dozens of them, 15 GB). Polling the parent pid ends them within
    a second; whatever they held is released as a dead worker's claims are. `parent` is
    passed in, not read here: a parent killed while this process was still importing has
    already been replaced by init."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(70)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def idle_thread() -> None:
    """Put the calling thread under Linux's SCHED_IDLE: it runs only on a CPU nothing else
    wants (a thread pool's initializer, so that only the thread doing the CPU-heavy work is
    idle). No-op where the platform has no such policy.

    A nice of 5 still leaves a busy process a quarter of a contended core (CFS weights
    1024:335), and on two cores whole-body scoring at that share doubled the ACK p99
    (bench/ingest_load.py, issue #19). The whole process is not made idle: its store
    transactions hold SQLite's write lock, and a lock holder starved of CPU would make the
    listener's commit wait for it (a priority inversion). SCHED_IDLE needs no privilege: it
    only lowers the priority.
    """
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def start(build: Callable[..., Any] | None, args: tuple[Any, ...], logging_config: Any,
          nice: int, parent: int) -> None:
    """Pool initializer: end with the parent, log as it does, yield the CPU to the listener
    by `nice`, then build this process's worker (`build(*args)`; None: a bare process for
    plain functions, such as strict validation)."""
    global _worker
    from radagree.logs import configure_from

    _exit_with_parent(parent)
    if logging_config is not None:
        configure_from(logging_config)
    if nice:
        os.nice(nice)
    _worker = build(*args) if build is not None else True
    close = getattr(_worker, "close", None)
    if callable(close):
        # A pool's process ends through multiprocessing's exit path, which runs these
        # finalizers (not atexit): the worker's resources (an LLM client's pool) close there.
        multiprocessing.util.Finalize(None, close, exitpriority=10)


def call(method: str, *args: Any) -> Any:
    """Run `method` of this process's worker (what the daemon submits)."""
    return getattr(_worker, method)(*args)


def ready() -> int:
    """This process's pid, once the initializer has run (models loaded, store reachable);
    the daemon keeps it to end the process should a shutdown's grace run out."""
    return os.getpid() if _worker is not None else 0


def pool(processes: int, build: Callable[..., Any] | None, args: tuple[Any, ...], *,
         logging_config: Any, nice: int) -> ProcessPoolExecutor:
    """`processes` spawned children (not forked: the daemon has threads, the store writer,
    that fork would copy mid-lock), each building its worker with `build(*args)`."""
    return ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("spawn"), initializer=start,
        initargs=(build, args, logging_config, nice, os.getpid()),
    )
