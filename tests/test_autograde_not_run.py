"""A submission the Dask cluster did not run (here: a scheduler without workers, whose no-workers
timeout fails the job) is not the student's doing: status ``not_run`` with its reason, no score in
grades.csv, the report's attention list, an instructor message saying why, graded on the next run."""
from __future__ import annotations

import csv
import json

import pytest

from autograde.grade import grade
from autograde.messages import t

from _autograde import LESSON1, make_course, student_notebook, submit


@pytest.fixture
def scheduler_without_workers():
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.no-workers-timeout": "1s"}):
        cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=":0")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_a_job_no_worker_ran_is_not_run_not_failed_and_has_no_score(tmp_path, scheduler_without_workers, capsys):
    from autograde.__main__ import _print_summary
    from autograde.report import build

    course = make_course(tmp_path / "course", sandbox=False)
    submit(course, "s1", LESSON1, student_notebook(course, LESSON1))
    summary = grade(course, scheduler=scheduler_without_workers, progress=False, log=lambda *_: None)

    row = next(r for r in summary.rows if r.assignment == LESSON1)
    assert (row.status, row.kernel, row.score) == ("not_run", "no_worker", None)
    assert "NoWorkerError" in row.problem
    saved = {r["assignment"]: r for r in json.loads(course.path("report.json").read_text())}
    assert saved[LESSON1]["status"] == "not_run" and saved[LESSON1]["kernel"] == "no_worker"
    with open(course.path("grades.csv"), newline="") as fh:
        grades = {r["assignment"]: r for r in csv.DictReader(fh) if r["student_id"] == "s1"}
    assert grades[LESSON1]["score"] == grades[LESSON1]["raw_score"] == ""  # not 0: nothing was graded
    assert grades[LESSON1]["max_score"]
    state = json.loads(course.path(".autograde", "state.json").read_text())
    assert f"s1/{LESSON1}" not in state  # never "unchanged": the next `make grade` grades it

    _print_summary(course, summary)
    said = capsys.readouterr().out
    assert t("cli_not_run", "en", n=1, reason=t("nr_no_worker", "en"), which=f"s1/{LESSON1}") in said
    from autograde.export import render

    canvas = list(csv.reader(render(course, "canvas").splitlines()))
    assert canvas[2][1] == "s1" and canvas[2][5 + course.settings.assignments.index(LESSON1)] == ""
    per_test = list(csv.DictReader(render(course, "csv").splitlines()))
    assert per_test[0][LESSON1] == per_test[0]["total"] == ""
    report = build(course, LESSON1, list(saved.values()))
    assert report.attention["rp_not_run"] == ["s1 (no_worker)"] and "s1" not in report.scores


@pytest.mark.parametrize(("exc", "reason"), [
    ("NoWorkerError", "no_worker"), ("NoValidWorkerError", "no_worker"), ("CommClosedError", "cluster_lost"),
    ("TimeoutError", "cluster_lost"), ("ModuleNotFoundError", "worker_error"),
])
def test_each_infrastructure_failure_has_a_reason_with_a_message(exc, reason):
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import NoValidWorkerError, NoWorkerError

    from autograde.cluster import NOT_RUN_REASONS, _not_run_reason
    from autograde.messages import catalogue

    made = {"NoWorkerError": NoWorkerError("k", 1.0), "NoValidWorkerError": NoValidWorkerError("k", set(), set(), {}, 1.0),
            "CommClosedError": CommClosedError("closed"), "TimeoutError": TimeoutError("slow"),
            "ModuleNotFoundError": ModuleNotFoundError("autograde")}[exc]
    assert _not_run_reason(made) == reason and reason in NOT_RUN_REASONS
    for lang in ("en", "ja", "ko"):
        assert f"nr_{reason}" in catalogue(lang)


def test_unscored_reads_grade_rows_and_report_json_rows_alike():
    from autograde.cluster import unscored
    from autograde.grade import Row

    rows = [Row("ann", "01", "01", status="not_run"), Row("bob", "01", "01", status="graded"),
            Row("ann", "02", "02", status="crashed")]
    as_json = [{"student": r.student, "assignment": r.assignment, "status": r.status} for r in rows]
    assert unscored(rows) == unscored(as_json) == {("ann", "01")}
