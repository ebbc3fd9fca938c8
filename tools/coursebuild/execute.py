"""Execute generated notebooks with nbclient (for the tests and the benchmark).

Each run gets a fresh kernel; worker processes can run several at once (:func:`run_many`).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

CELL_TIMEOUT = 60
_LABELS_MARK = "@@gradcoach-checked-labels@@"
# Appended to a copy of the notebook: what gradcoach recorded as checked in this kernel session.
_LABELS_CELL = ("import json as _json, gradcoach as _gc\n"
                f"print({_LABELS_MARK!r} + _json.dumps(sorted(_gc.checked_labels())))")


@dataclass
class Executed:
    path: str
    notebook: dict | None  # the executed notebook (nbformat JSON); None if the run broke down
    labels: list = field(default_factory=list)  # gradcoach.checked_labels() at the end
    seconds: float = 0.0  # execute() wall time, kernel start included
    cell_seconds: float = 0.0  # the cells alone
    failure: str | None = None  # a timeout, a dead kernel: the whole run failed


def kernel_env(single_thread: bool) -> dict:
    """The environment of the kernels: no GRADCOACH_LANG (it would override the notebook's language),
    a non-interactive matplotlib, and one thread each where runs share the cores."""
    env = {k: v for k, v in os.environ.items() if k != "GRADCOACH_LANG"}
    env.update(MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
    if single_thread:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def time_in_cells(nb) -> float:
    """Time spent running cells (nbclient's per-cell timestamps), without the kernel's start."""
    from datetime import datetime

    total = 0.0
    for cell in nb.cells:
        times = cell.metadata.get("execution", {})
        if "iopub.execute_input" in times and "shell.execute_reply" in times:
            start, end = (datetime.fromisoformat(times[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
    return total


def run_notebook(path: str, collect_labels: bool = False, timeout: int = CELL_TIMEOUT,
                 single_thread: bool = True) -> Executed:
    """Execute the notebook at ``path`` top to bottom in a fresh python3 kernel, errors allowed
    (they stay in the outputs), in the notebook's folder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if collect_labels:
        nb.cells.append(nbformat.v4.new_code_cell(_LABELS_CELL, id="collect-checked-labels"))
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    # The kernel's own log (not cell output) goes to a file: shown only when the run breaks down.
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        try:
            client.execute(env=kernel_env(single_thread), stderr=log)
        except Exception as exc:  # CellTimeoutError, DeadKernelError: no usable notebook
            log.seek(0)
            tail = log.read().decode("utf-8", "replace")[-2000:]
            return Executed(str(path), None, seconds=time.perf_counter() - start,
                            failure=f"{type(exc).__name__}: {exc}\nkernel log:\n{tail}")
        seconds = time.perf_counter() - start
    labels, failure = [], None
    if collect_labels:
        extra = nb.cells.pop()
        text = "".join(o.get("text", "") for o in extra.outputs if o.get("output_type") == "stream")
        if _LABELS_MARK in text:
            labels = json.loads(text.split(_LABELS_MARK, 1)[1].strip())
        else:
            failure = f"could not read gradcoach.checked_labels(): {extra.outputs}"
    return Executed(str(path), json.loads(nbformat.writes(nb)), labels, seconds, time_in_cells(nb), failure)


def _run_job(job: tuple) -> Executed:
    return run_notebook(*job)


def run_many(jobs: list, workers: int = 2) -> list:
    """Run ``(path, collect_labels)`` jobs in ``workers`` processes; results in the order of ``jobs``."""
    if workers <= 1 or len(jobs) <= 1:
        return [_run_job(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_run_job, jobs))
