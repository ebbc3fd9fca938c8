"""`make grade` on a fresh clone grades the bundled sample class: the whole loop, real nbgrader,
real sandbox, and the scores each kind of submission should get."""
import csv
import subprocess
import sys

import pytest

from autograde.sandbox import probe

from _autograde import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("sample") / "course"
    run = subprocess.run([sys.executable, "-m", "autograde", "--course", str(course), "sample"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    grades = list(csv.DictReader((course / "grades.csv").open(encoding="utf-8")))
    report = list(csv.DictReader((course / "report.csv").open(encoding="utf-8")))
    return run.stdout, course, grades, report


def score(grades, student, lesson):
    row = next(r for r in grades if r["student_id"] == student and r["assignment"].startswith(lesson))
    return float(row["score"]), float(row["max_score"])


def test_the_run_says_where_the_results_are(graded):
    out, course, _, _ = graded
    assert "grades.csv" in out and "feedback" in out and "report" in out


def test_at_least_twelve_students_across_lessons_01_and_02(graded):
    _, _, grades, _ = graded
    students = {r["student_id"] for r in grades}
    assert len(students) >= 12
    assert {r["assignment"][:2] for r in grades} == {"01", "02"}


def test_correct_and_colab_edited_submissions_get_full_marks(graded):
    _, _, grades, report = graded
    for student in ("20001", "20014", "20005"):
        for lesson in ("01", "02"):
            got, full = score(grades, student, lesson)
            assert got == full > 0, (student, lesson, got, full)
    colab = [r for r in report if r["student"] == "20005"]
    assert colab and all(r["repairs"] for r in colab)


def test_unanswered_invalid_and_cheating_submissions_gain_nothing(graded):
    _, _, grades, report = graded
    assert score(grades, "20006", "01")[0] == 0  # unanswered
    assert score(grades, "20010", "01")[0] == 0  # a truncated file
    cheat, full = score(grades, "20007", "01")
    assert cheat < full  # wrong answers, then gradcoach and torch.allclose patched
    invalid = next(r for r in report if r["student"] == "20010" and r["assignment"].startswith("01"))
    assert invalid["problem"]


def test_partial_and_wrong_submissions_are_in_between(graded):
    _, _, grades, _ = graded
    partial, full = score(grades, "20002", "01")
    assert 0 < partial < full
    wrong, full = score(grades, "20003", "01")
    assert wrong < full
