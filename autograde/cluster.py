"""Grading jobs on dask.distributed: an embedded ``LocalCluster`` or an existing scheduler.

A job carries everything a worker needs as bytes (:func:`make_job`): the repaired notebook, its
timestamp and the grader's notes, a *seed gradebook* (an SQLite file holding only that
assignment's cells, copied from the course's gradebook) and the grading settings. The worker
(:func:`run_job`) grades it with nbgrader's own Autograde and GenerateFeedback converters in a
private temporary course directory and returns the autograded notebook, the feedback pages, the
scores nbgrader saved and the execution events. Nothing on the worker needs the course's
directory or gradebook: the coordinator alone writes them (:func:`merge_result`), one result at
a time, so a result that arrives twice (Dask re-ran a job whose worker died after finishing it)
is applied once, and a worker that dies mid-job costs a re-run elsewhere, not a grade.

Each worker keeps its sandbox zygotes (the students' kernels' and the checkers') warm across jobs
(:class:`WarmZygote`, a worker plugin that starts them in the worker's task thread, the thread
bwrap's ``--die-with-parent`` follows).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from .course import COURSE_ID, Course, CourseError

#: how many times a job may take its worker down before it is reported instead of retried
ALLOWED_FAILURES = 2
KILLED_WORKER = "killed_worker"
#: the status of a submission the cluster did not run (no worker, a lost connection, a worker
#: without the course's code): not the student's doing, so no score, and the next ``make grade``
#: grades it; the row's ``kernel`` is one of NOT_RUN_REASONS (each a catalogue message ``nr_*``)
NOT_RUN = "not_run"
NOT_RUN_REASONS = ("no_worker", "cluster_lost", "worker_error")

#: an embedded cluster that lost every worker fails the remaining jobs after this, instead of waiting
NO_WORKERS_TIMEOUT = "120s"


def unscored(rows: Iterable) -> set[tuple[str, str]]:
    """The (student, assignment) pairs among report rows (``grade.Row`` objects or report.json
    dicts) that have no score from this run: the cluster did not run them (NOT_RUN). The gradebook
    may still hold an older submission's grade for them, since nothing was merged, so every output
    (grades.csv, the report, the LMS exports) leaves their scores empty: the one home of that rule."""
    def get(row, key):
        return row[key] if isinstance(row, dict) else getattr(row, key)

    return {(get(r, "student"), get(r, "assignment")) for r in rows if get(r, "status") == NOT_RUN}


# -- the job (coordinator) -------------------------------------------------------------------------
def seed_gradebook(course: Course, assignment: str) -> bytes:
    """An SQLite gradebook with only ``assignment``'s notebooks and cells, copied from the course's
    gradebook (SQLite or PostgreSQL): what nbgrader's autograde needs, and no student's data."""
    import sqlite3

    from nbgrader.api import Gradebook
    from sqlalchemy import text

    with tempfile.TemporaryDirectory(prefix="ag-seed-") as tmp:
        path = Path(tmp, "gradebook.db")
        with Gradebook(course.db_url, COURSE_ID) as src:
            # nbgrader stamps a new gradebook with `alembic heads`, a subprocess that re-imports
            # nbgrader (seconds per seed); a file that already has the course's stamp skips it
            version = src.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if version:
            with contextlib.closing(sqlite3.connect(path)) as db, db:
                db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
        with Gradebook(course.db_url, COURSE_ID) as src, Gradebook(f"sqlite:///{path}", COURSE_ID) as dst:
            a = src.find_assignment(assignment)
            dst.update_or_create_assignment(assignment, duedate=a.duedate)
            for nb in a.notebooks:
                dst.update_or_create_notebook(nb.name, assignment, kernelspec=nb.kernelspec)
                for cell in nb.source_cells:
                    dst.update_or_create_source_cell(cell.name, nb.name, assignment, cell_type=cell.cell_type,
                                                     locked=cell.locked, source=cell.source, checksum=cell.checksum)
                for cell in nb.grade_cells:
                    dst.update_or_create_grade_cell(cell.name, nb.name, assignment, max_score=cell.max_score,
                                                    cell_type=cell.cell_type)
                for cell in nb.solution_cells:
                    dst.update_or_create_solution_cell(cell.name, nb.name, assignment)
                for cell in nb.task_cells:
                    dst.update_or_create_task_cell(cell.name, nb.name, assignment, max_score=cell.max_score,
                                                   cell_type=cell.cell_type)
        return path.read_bytes()


def _files(base: Path, skip: Callable[[Path], bool] = lambda p: False) -> dict[str, bytes]:
    if not base.is_dir():
        return {}
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file() and not skip(p)}


def make_job(course: Course, student: str, assignment: str, gradable: list[str], seed: bytes,
             feedback: bool) -> dict:
    """The self-contained job for one (student, assignment) whose notebooks ``gradable`` were
    repaired into repaired/ (grade.py's _prepare)."""
    settings = asdict(course.settings)
    settings.update(db_url="", release_dir="", source="")
    notes = {}
    for name in gradable:
        path = course.path(".autograde", "notes", student, assignment, f"{name}.json")
        notes[name] = path.read_bytes() if path.exists() else b'{"notes": []}'
    return {"student": student, "assignment": assignment, "settings": settings, "seed": seed,
            "repaired": _files(course.path("repaired", student, assignment)),
            "source_files": _files(course.path("source", assignment), lambda p: p.suffix == ".ipynb"),
            "notes": notes, "notebooks": gradable, "feedback": feedback}


# -- the worker ------------------------------------------------------------------------------------
def _write(base: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        target = base / rel
        if not target.resolve().is_relative_to(base.resolve()):
            raise ValueError(f"job file outside its directory: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _saved_grades(db_url: str, student: str, assignment: str) -> dict:
    """What nbgrader's SaveAutoGrades and AssignLatePenalties wrote, per notebook."""
    from nbgrader.api import Gradebook, MissingEntry

    saved = {}
    with Gradebook(db_url, COURSE_ID) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        for nb in submission.notebooks:
            saved[nb.name] = {"grades": {g.name: g.auto_score for g in nb.grades},
                              "comments": {c.name: c.auto_comment for c in nb.comments},
                              "late_penalty": nb.late_submission_penalty}
    return saved


def run_job(job: dict) -> dict:
    """Autograde + feedback for one job in a private course directory; never raises (a failing
    submission is an ``error`` in the result)."""
    import warnings

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .execute import take_events
    from .grade import cells_run, last_error

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's autoflush notices from nbgrader's api
    start = time.monotonic()
    student, assignment = job["student"], job["assignment"]
    out = {"student": student, "assignment": assignment, "events": {}, "error": "", "cells_run": {},
           "autograded": {}, "feedback_files": {}, "grades": {}, "diagnoses": {}, "worker": _worker_name()}
    tmp = Path(tempfile.mkdtemp(prefix="ag-job-"))
    try:
        root = tmp / "course"
        root.mkdir()
        (root / "autograde.json").write_text(json.dumps(job["settings"]))
        (root / "gradebook.db").write_bytes(job["seed"])
        course = Course(root)
        course.settings.db_url = ""  # the private gradebook, whatever the environment says
        course.path(".autograde", "exchange").mkdir(parents=True)
        course.path("source", assignment).mkdir(parents=True)
        _write(course.path("source", assignment), job["source_files"])
        _write(course.path("repaired", student, assignment), job["repaired"])
        for name, data in job["notes"].items():
            _write(course.path(".autograde", "notes", student, assignment), {f"{name}.json": data})
        config = course.nbgrader_config()
        config.CourseDirectory.submitted_directory = "repaired"
        config.NbGraderAPI.log_level = "WARN"
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        result = api.autograde(assignment, student, force=True, create=True)
        for name in job["notebooks"]:
            out["events"][name] = take_events(student, assignment, name)
        if not result["success"]:
            out["error"] = last_error(result)
        else:
            out["cells_run"] = cells_run(course, student, assignment, job["notebooks"])
            out["diagnoses"] = _diagnoses(course, student, assignment, job["notebooks"])
            out["grades"] = _saved_grades(course.db_url, student, assignment)
            out["autograded"] = _files(course.path("autograded", student, assignment))
            if job["feedback"]:
                feedback = api.generate_feedback(assignment, student, force=True)
                if not feedback["success"]:
                    out["error"] = "feedback: " + last_error(feedback)
                out["feedback_files"] = _files(course.path("feedback", student, assignment))
    except Exception as exc:  # noqa: BLE001 - one failing submission never stops the batch
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["seconds"] = round(time.monotonic() - start, 2)
    return out


def _diagnoses(course: Course, student: str, assignment: str, names: list[str]) -> dict:
    import nbformat

    from .diagnoses import read_diagnoses

    found = {}
    for name in names:
        path = course.path("autograded", student, assignment, f"{name}.ipynb")
        if path.exists():
            found[name] = read_diagnoses(nbformat.read(path, as_version=4))
    return found


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


# -- merging a result (coordinator) ----------------------------------------------------------------
def merge_result(course: Course, result: dict) -> None:
    """Write a worker's result into the course: autograded/, feedback/ and the gradebook, the way
    nbgrader's autograde would have (a manual score keeps the grade marked for review)."""
    from nbgrader.api import Gradebook

    student, assignment = result["student"], result["assignment"]
    for folder, files in (("autograded", result["autograded"]), ("feedback", result["feedback_files"])):
        target = course.path(folder, student, assignment)
        shutil.rmtree(target, ignore_errors=True)
        if files:
            _write(target, files)
    if not result["grades"]:
        return
    timestamp = course.path("repaired", student, assignment, "timestamp.txt")
    kwargs = {"timestamp": timestamp.read_text().strip()} if timestamp.exists() else {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, **kwargs)
        for nb in submission.notebooks:
            saved = result["grades"].get(nb.name)
            if saved is None:  # no such notebook submitted: nbgrader scores it 0
                for grade in nb.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
                continue
            for grade in nb.grades:
                grade.auto_score = saved["grades"].get(grade.name)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            for comment in nb.comments:
                comment.auto_comment = saved["comments"].get(comment.name)
            nb.late_submission_penalty = saved["late_penalty"]
        gb.db.commit()


# -- the cluster -----------------------------------------------------------------------------------
def _warm(limits: dict, lang: str) -> None:
    from .execute import checker_default
    from .sandbox import Limits, Zygote

    try:
        for role in ("student", "checker") if checker_default() else ("student",):
            Zygote.get(Limits(**limits), lang, role)
    except Exception:  # noqa: BLE001 - the first job starts it again and reports why it cannot
        logging.getLogger("autograde").warning("could not start the sandbox zygote", exc_info=True)


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # dask is pinned in requirements.txt; without it only the import of this module fails later
    WorkerPlugin = object


class WarmZygote(WorkerPlugin):
    """Starts the worker's sandbox zygotes as soon as it joins, in its task thread (the thread the
    jobs run in, so the zygote outlives each job and bwrap's ``--die-with-parent`` holds)."""

    name = "autograde-warm-zygote"

    def __init__(self, limits: dict, lang: str):
        self.limits, self.lang = limits, lang

    def setup(self, worker) -> None:
        worker.executors["default"].submit(_warm, self.limits, self.lang)

    def teardown(self, worker) -> None:
        from .sandbox import Zygote

        worker.executors["default"].submit(Zygote.close_all)


def zygotes_running() -> int:
    """How many sandbox zygotes this (worker) process keeps running (``client.run(zygotes_running)``)."""
    from .sandbox import Zygote

    return sum(z.alive() for z in Zygote._instances.values())


class Cluster:
    """Where the jobs run: ``Cluster(workers=n)`` an embedded LocalCluster (one single-threaded
    worker process per core), ``Cluster(scheduler="tcp://host:8786")`` an existing cluster."""

    def __init__(self, workers: int = 1, scheduler: str | None = None, warm: tuple[dict, str] | None = None,
                 allowed_failures: int = ALLOWED_FAILURES):
        import sys

        import dask
        from distributed import Client, LocalCluster

        self.scheduler, self.local, self._config = scheduler, None, None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=30)
            else:
                # fork, as the pool before it did: a worker inherits the imported nbgrader instead of
                # importing it again (spawn takes half a minute per worker on a loaded machine)
                method = "fork" if sys.platform.startswith("linux") else "spawn"
                # saturation 1: a worker holds only the job it runs, so a job that kills its worker
                # does not take queued neighbours down with it.
                # In effect until close(), not only while the cluster starts: a nanny reads the
                # multiprocessing method again each time it restarts a dead worker, and a worker
                # *spawned* there (the default) lacks what the forked ones inherited, so a job that
                # had killed a forked worker then failed on its spawned successor ('failed', not
                # KilledWorker), or waited out the no-workers timeout while it imported nbgrader.
                self._config = dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures,
                                                "distributed.scheduler.worker-saturation": 1.0,
                                                "distributed.scheduler.no-workers-timeout": NO_WORKERS_TIMEOUT,
                                                "distributed.worker.multiprocessing-method": method})
                # the scheduler serves HTTP (health, metrics) even without a dashboard, by default on
                # port 8787 ("already in use" beside another cluster): a free loopback port instead
                self.local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                          dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
                self.client = Client(self.local)
        except OSError as exc:
            if self.local is not None:
                self.local.close()
            self._restore_config()
            raise CourseError("ce_no_scheduler" if scheduler else "ce_no_local_cluster", scheduler=scheduler,
                              error=exc) from exc
        if warm is not None:
            self.client.register_plugin(WarmZygote(*warm))

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {})) if self.client else 0

    def close(self) -> None:
        try:
            self.client.close()
            if self.local is not None:
                self.local.close()
        finally:
            self._restore_config()

    def _restore_config(self) -> None:
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, jobs: Iterable[dict], on_result: Callable[[dict], None], func: Callable[[dict], dict] = run_job) -> None:
        """Run every job; ``on_result`` gets exactly one result per job, as they finish. A job whose
        workers died more often than the scheduler's ``allowed-failures`` (here ALLOWED_FAILURES) is
        submitted once more on its own (it may only have been queued beside the culprit); if that
        fails too it comes back with ``error`` set and ``kernel = "killed_worker"``."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        jobs = list(jobs)
        token = f"{time.time_ns():x}"
        futures = self.client.map(func, jobs, key=[_key(job, token) for job in jobs], pure=False)
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        retried: set[str] = set()
        pending = as_completed(futures)
        for future in pending:
            job = by_key[future.key]
            try:
                result = future.result()
            except KilledWorker:
                ident = _key(job, "")
                if ident not in retried:  # maybe only a neighbour of the job that killed the worker: once more
                    retried.add(ident)
                    again = self.client.submit(func, job, key=_key(job, token + "-retry"), pure=False)
                    by_key[again.key] = job
                    pending.add(again)
                    future.release()
                    continue
                result = _failed(job, "the submission took its grading worker down repeatedly", KILLED_WORKER)
            except Exception as exc:  # noqa: BLE001 - no worker, a lost scheduler, a worker without our code
                result = {**_failed(job, f"the cluster did not run the job ({type(exc).__name__}: {exc})",
                                    _not_run_reason(exc)), "status": NOT_RUN}
            future.release()
            on_result(result)


def _not_run_reason(exc: BaseException) -> str:
    """Which of NOT_RUN_REASONS an exception from a job's future means (run_job itself never raises)."""
    from concurrent.futures import CancelledError

    from distributed.scheduler import NoValidWorkerError, NoWorkerError

    if isinstance(exc, NoWorkerError | NoValidWorkerError):
        return "no_worker"
    if isinstance(exc, OSError | TimeoutError | CancelledError):  # CommClosedError is an OSError
        return "cluster_lost"
    return "worker_error"


def _key(job: dict, token: str) -> str:
    return f"autograde-{job['student']}-{job['assignment']}-{token}"


def _failed(job: dict, error: str, kernel: str = "") -> dict:
    return {"student": job["student"], "assignment": job["assignment"], "events": {}, "cells_run": {},
            "autograded": {}, "feedback_files": {}, "grades": {}, "diagnoses": {}, "seconds": 0, "error": error,
            "kernel": kernel, "worker": ""}


@contextlib.contextmanager
def cli_cluster(base: Path, workers: int = 2, timeout: float = 120):
    """``dask scheduler`` and ``workers`` × ``dask worker`` started from the CLI on loopback, each in
    its own directory under ``base`` (which holds no course): what an instructor runs on real
    machines, for the tests and ``make bench``. Yields (address, {name: Popen})."""
    import subprocess
    import sys

    dask_cli = str(Path(sys.executable).with_name("dask"))
    procs: list = []

    def start(argv: list[str], cwd: Path):
        cwd.mkdir(parents=True, exist_ok=True)
        with open(cwd / "log.txt", "wb") as log:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        return proc

    def wait_for(predicate, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join((base / d / "log.txt").read_text(errors="replace")[-2000:]
                                 for d in ("scheduler", *(f"w{k}" for k in range(1, workers + 1)))
                                 if (base / d / "log.txt").exists())
                raise RuntimeError(f"the Dask cluster did not start ({what}):\n{logs}")
            time.sleep(0.2)

    scheduler_file = base / "scheduler" / "scheduler.json"
    try:
        start([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--dashboard-address", "127.0.0.1:0",  # its HTTP server listens on 0.0.0.0:8787 otherwise
               "--scheduler-file", str(scheduler_file)], base / "scheduler")
        wait_for(scheduler_file.exists, "scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        names = {f"w{k}": start([dask_cli, "worker", address, "--name", f"w{k}", "--nthreads", "1",
                                 "--nworkers", "1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                 "--host", "127.0.0.1",
                                 "--local-directory", str(base / f"w{k}")], base / f"w{k}")
                 for k in range(1, workers + 1)}
        from distributed import Client

        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address, names
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
