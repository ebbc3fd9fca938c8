"""Parallel grading gives the scores of a sequential run and leaves a sound gradebook."""
from __future__ import annotations

import sqlite3

import pytest

from autograde.grade import grade
from autograde.sandbox import probe

from _autograde import LESSON1, LESSON2, WRONG, make_course, strip_metadata, student_notebook, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("parallel") / "course")
    answers = ["correct", "wrong", "stub", {"ex2_answer": WRONG[LESSON1]["ex2_answer"]}, "colab"]
    for k in range(6):
        for lesson in (LESSON1, LESSON2):
            kind = answers[(k + (lesson == LESSON2)) % len(answers)]
            if lesson == LESSON2 and isinstance(kind, dict):
                kind = "wrong"
            nb = student_notebook(course, lesson, "correct" if kind == "colab" else kind)
            submit(course, f"p{k}", lesson, strip_metadata(nb) if kind == "colab" else nb)
    sequential = grade(course, workers=1, force=True, progress=False, log=lambda *_: None)
    csv_sequential = course.path("grades.csv").read_text()
    parallel = grade(course, workers=4, force=True, progress=False, log=lambda *_: None)
    return course, sequential, csv_sequential, parallel


def _scores(summary) -> dict:
    return {(r.student, r.assignment): (r.status, r.score, r.tests) for r in summary.rows}


def test_parallel_scores_equal_sequential_scores(course):
    course, sequential, csv_sequential, parallel = course
    assert parallel.graded == sequential.graded == 12
    assert _scores(parallel) == _scores(sequential)
    assert course.path("grades.csv").read_text() == csv_sequential
    assert {score for _, score, _ in _scores(parallel).values()} >= {0.0, 1.0, 2.0, 3.0}


def test_gradebook_is_sound_after_parallel_runs(course):
    course = course[0]
    with sqlite3.connect(course.path("gradebook.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone() == (12,)
        assert db.execute("SELECT COUNT(*) FROM submitted_notebook").fetchone() == (12,)
        # one grade per test cell and submission: lesson 1 has two, lesson 2 one
        assert db.execute("SELECT COUNT(*) FROM grade").fetchone() == (6 * 2 + 6 * 1,)
