"""Grading on a real Dask cluster: a scheduler and two workers started with the `dask` CLI, on
loopback, in temporary directories that do not contain the course. The cluster grades the sample
class exactly as the embedded one-worker run does, even when a worker is killed mid-batch."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest

from autograde.cluster import cli_cluster, make_job, seed_gradebook, zygotes_running
from autograde.grade import grade
from autograde.sandbox import probe

from _autograde import comparable_report, copy_course

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes, each in its own empty directory."""
    from distributed import Client

    with cli_cluster(tmp_path_factory.mktemp("dask"), workers=2) as (address, workers):
        with Client(address, timeout=30) as client:
            yield address, client, workers


def test_the_cli_cluster_listens_on_loopback_only(dask_cluster):
    """The scheduler and the workers serve HTTP (health, metrics) even without a dashboard; like
    their Dask ports, those listen on 127.0.0.1, never on every interface."""
    import psutil

    dask = [p for p in psutil.Process().children(recursive=True) if "dask" in " ".join(p.cmdline())]
    listening = {(p.pid, c.laddr.ip) for p in dask for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN}
    assert len(dask) >= 3 and listening, dask
    assert {ip for _, ip in listening} == {"127.0.0.1"}, listening


def test_a_job_carries_bytes_and_no_path_into_the_course(sample_graded):
    course = sample_graded
    job = make_job(course, "20001", "01_scalar_derivatives", ["01_scalar_derivatives"],
                   seed_gradebook(course, "01_scalar_derivatives"), feedback=True)
    assert job["repaired"]["01_scalar_derivatives.ipynb"].startswith(b"{")
    assert str(course.root) not in repr(job) and "classroom" not in repr(job)
    with sqlite3.connect(":memory:") as db:  # the seed holds the assignment, and no student
        db.deserialize(job["seed"])
        assert db.execute("SELECT COUNT(*) FROM student").fetchone() == (0,)
        assert db.execute("SELECT name FROM assignment").fetchall() == [("01_scalar_derivatives",)]


def test_the_cluster_grades_as_the_sequential_run_even_when_a_worker_is_killed_mid_batch(
        dask_cluster, sample_class, sample_graded, tmp_path):
    address, client, workers = dask_cluster
    course = copy_course(sample_class, tmp_path / "course")
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(summary=grade(
        course, scheduler=address, force=True, progress=False, log=lambda *_: None)))
    runner.start()

    def busy_victim():
        done = len(list(course.path("feedback").glob("*/*"))) if course.path("feedback").exists() else 0
        names = {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        return client.processing().get(names.get("w1"), []) if done >= 6 else []

    try:
        interrupted = _wait_for(busy_victim, 900, "worker w1 to be grading, a few results in")
        warm = client.run(zygotes_running)
        os.killpg(workers["w1"].pid, signal.SIGKILL)  # the nanny and its worker
    finally:
        runner.join(timeout=1200)
    assert not runner.is_alive()
    assert interrupted  # a job was running on the killed worker: it was graded again elsewhere
    # each worker had warmed its two sandbox zygotes (the students' kernels' and the checkers', by
    # the worker plugin) and kept them between jobs
    assert sorted(warm.values()) == [2, 2]

    summary = outcome["summary"]
    assert summary.graded == 27
    assert course.path("grades.csv").read_text() == sample_graded.path("grades.csv").read_text()
    assert comparable_report(course) == comparable_report(sample_graded)
    with sqlite3.connect(course.path("gradebook.db")) as db:  # each submission exactly once
        pairs = db.execute("SELECT COUNT(*), COUNT(DISTINCT assignment_id || student_id) FROM submitted_assignment")
        assert pairs.fetchone() == (27, 27)
    for row in summary.rows:
        if row.feedback:
            assert course.path(row.feedback).exists()
