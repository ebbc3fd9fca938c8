"""A submission that takes its grading worker down, again and again, is reported as such and the batch
goes on: the scheduler gives up on it after ``allowed-failures`` (Dask's KilledWorker), it is tried
once more on its own, then recorded as ``crashed`` / ``killed_worker`` with 0 points and a feedback
page that says why; the other submissions are graded as usual.

Real processes: ``python -m autograde grade`` with its embedded Dask cluster (a nanny and a worker
process on loopback). Without the sandbox (``--unsafe-no-sandbox``) a kernel is a child of its
worker, so a submission can kill the worker deterministically: ``os.kill(JPY_PARENT_PID)`` is what
jupyter_client tells every kernel its parent is. (In the sandbox it cannot see the worker at all.)
The grading runs in its own session under a hard timeout, so a failure can never hang the suite.

Each restart must fork from the coordinator like the first workers (cluster.Cluster keeps its Dask
settings until it closes): a worker spawned by the nanny's restart is not the worker the job killed,
and the outcome then depended on it ('failed' on a fresh clone instead of ``killed_worker``).
"""
from __future__ import annotations

import html
import os
import signal
import subprocess
import sys

import pytest

from autograde.messages import t

from _autograde import LESSON2, ROOT, grades_csv, make_course, report, student_notebook, submit

pytestmark = [pytest.mark.slow, pytest.mark.worker_faults]  # alone: make test-worker-faults

TIMEOUT = 1200  # seconds for the whole batch (5 to 8 minutes on the shared 2-core machine: 6 worker restarts)
KILLER = ("import os, signal\n"
          "os.kill(int(os.environ['JPY_PARENT_PID']), signal.SIGKILL)  # the process grading this notebook\n")


def _grade(course) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograde", "--course", str(course.root), "grade", "--unsafe-no-sandbox",
           "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"grading did not finish in {TIMEOUT} s:\n{out[-3000:]}\n{err[-3000:]}")
    finally:
        try:  # whatever the batch left in its session (a restarted worker, a nanny)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("killer") / "course", lang="ja")
    submit(course, "ann", LESSON2, student_notebook(course, LESSON2, "correct"))
    submit(course, "bob", LESSON2, student_notebook(course, LESSON2, "wrong"))
    submit(course, "kim", LESSON2, student_notebook(course, LESSON2, {"ex1_answer": KILLER}))
    return course, _grade(course)


def test_the_batch_finishes_and_the_worker_killer_is_reported_as_such(graded):
    course, run = graded
    assert run.returncode == 0, run.stderr[-3000:]
    rows = report(course)
    killer = rows[("kim", LESSON2)]
    assert (killer["status"], killer["kernel"], killer["score"]) == ("crashed", "killed_worker", 0.0), killer
    assert "took its grading worker down repeatedly" in killer["problem"]
    assert rows[("ann", LESSON2)]["status"] == "graded" and rows[("ann", LESSON2)]["score"] == 2.0
    assert rows[("bob", LESSON2)]["status"] == "graded" and rows[("bob", LESSON2)]["score"] == 0.0
    grades = {key: score for key, score in grades_csv(course).items() if key[1] == LESSON2}
    assert grades == {("ann", LESSON2): 2.0, ("bob", LESSON2): 0.0, ("kim", LESSON2): 0.0}


def test_the_instructor_and_the_student_are_told_in_the_course_language(graded):
    course, run = graded
    assert t("cli_worker_killed", "ja", n=1, which=f"kim/{LESSON2}") in run.stdout
    page = html.unescape(course.path("feedback", "kim", LESSON2, f"{LESSON2}.html").read_text(encoding="utf-8"))
    assert t("worker_killed", "ja") in page and t("score_zero", "ja") in page


def test_the_progress_in_a_log_is_plain_lines(graded):
    _, run = graded  # stderr is a pipe, not a terminal
    progress = [line for line in run.stderr.splitlines() if line.startswith(t("progress_grading", "ja"))]
    assert "\r" not in run.stderr
    assert [line.split("|")[-1].split("[")[0].strip() for line in progress] == ["1/3", "2/3", "3/3"]
