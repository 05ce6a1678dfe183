"""Independent work side by side: training runs that share nothing but the run directory.

The book trains many small models that do not depend on each other (every ε and training
seed of the grid, the attacker's reference models). On a CPU, one small model cannot keep
two cores busy, so :func:`run_jobs` runs such jobs in worker processes, each with **one
thread** (``bench/bench_side_by_side.py`` measures the gain). A job's numbers never depend
on how many ran beside it: every job runs with one thread whether it runs in a worker or in
this process, so a run on 1 worker and a run on 8 write the same bytes.

A job is a module-level function and its keyword arguments (both picklable); it writes its
artefacts itself (atomically, :mod:`lib.core.rundir`, whose manifest is updated under a lock)
and returns something small. Workers are started with ``spawn`` (no copy of this process's
threads or open files). The number of workers is the ``LIB_WORKERS`` environment variable
when set, else the CPU count, one per job at most; with a CUDA device it is 1 (one device
runs one job at a time), and the jobs then run with the default threads on that device.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Mapping, Sequence

#: Threads each job runs with on a CPU (the same in a worker and in this process).
THREADS_PER_JOB = 1


def default_workers(n_jobs: int) -> int:
    """How many jobs run at once: ``LIB_WORKERS`` when set (a whole number of at least 1),
    else one per CPU core; 1 with a CUDA device; never more than ``n_jobs``."""
    env = os.environ.get("LIB_WORKERS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"LIB_WORKERS={env!r}: the number of worker processes is a whole number of at least 1")
        workers = int(env)
    else:
        workers = 1 if _cuda() else (os.cpu_count() or 1)
    return max(1, min(workers, n_jobs))


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@contextlib.contextmanager
def job_threads() -> Iterator[None]:
    """One thread for the block (:data:`THREADS_PER_JOB`) on a CPU, as a worker has;
    restored after. On a CUDA device nothing changes."""
    import torch

    if _cuda():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS_PER_JOB)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _start_worker(filters: list) -> None:
    """A worker's start: this process's warning filters (what a chapter silenced stays
    silent in its jobs) and one thread."""
    import warnings

    import torch

    warnings.filters[:] = filters
    if not torch.cuda.is_available():
        torch.set_num_threads(THREADS_PER_JOB)
        torch.set_num_interop_threads(THREADS_PER_JOB)


def _call(function: Callable[..., Any], job: Mapping[str, Any]) -> Any:
    return function(**job)


def run_jobs(function: Callable[..., Any], jobs: Sequence[Mapping[str, Any]], workers: int | None = None) -> list[Any]:
    """``function(**job)`` for every job, ``workers`` at a time (default
    :func:`default_workers`), each with one thread; returns the results in the jobs' order.
    A job that fails raises here, with its own traceback, after the jobs already running
    have finished (nothing half-written: every artefact is written atomically)."""
    jobs = list(jobs)
    if not jobs:
        return []
    workers = default_workers(len(jobs)) if workers is None else max(1, min(int(workers), len(jobs)))
    if workers == 1:
        with job_threads():
            return [function(**job) for job in jobs]
    import warnings

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(list(warnings.filters),)) as pool:
        futures = [pool.submit(_call, function, job) for job in jobs]
        return [future.result() for future in futures]
