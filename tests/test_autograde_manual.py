"""Grades an instructor sets by hand in Formgrader (manual score, extra credit) survive `make grade`:
an unchanged submission is not regraded, a changed one is regraded and keeps the manual part, and
the report, grades.csv and the console say so. Notebooks the scan flags are flagged in Formgrader."""
import pytest
from nbgrader.api import Gradebook

from autograde.course import COURSE_ID
from autograde.grade import grade
from autograde.messages import t
from autograde.sandbox import probe

from _autograde import LESSON1, grades_csv, make_course, report, student_notebook, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]


def set_by_hand(course, student, grade_id, manual_score=None, extra_credit=None):
    """What Formgrader's score and extra-credit boxes do (its PUT /formgrader/api/grade/<id>)."""
    with Gradebook(course.db_url, COURSE_ID) as gb:
        g = gb.find_grade(grade_id, LESSON1, LESSON1, student)
        g.manual_score, g.extra_credit = manual_score, extra_credit
        g.needs_manual_grade = False
        gb.db.commit()


def manual_grades(course, student):
    with Gradebook(course.db_url, COURSE_ID) as gb:
        nb = gb.find_submission_notebook(LESSON1, LESSON1, student)
        return {g.name: (g.manual_score, g.extra_credit) for g in nb.grades
                if g.manual_score is not None or g.extra_credit}, nb.flagged


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("manual") / "course")
    submit(course, "ann", LESSON1, student_notebook(course, LESSON1, "wrong"))   # 0 of 3 automatically
    submit(course, "ben", LESSON1, student_notebook(course, LESSON1))            # 3 of 3
    submit(course, "eve", LESSON1, student_notebook(course, LESSON1, extra=["import ctypes"]))
    grade(course, assignments=[LESSON1], workers=1, progress=False, log=lambda *_: None)
    return course


def test_a_manual_score_and_extra_credit_count_in_grades_csv_and_the_report(course):
    set_by_hand(course, "ann", "ex2_test", manual_score=1.5)
    set_by_hand(course, "ben", "ex1_test", extra_credit=0.5)
    summary = grade(course, assignments=[LESSON1], workers=1, progress=False, log=lambda *_: None)
    assert summary.graded == 0, "unchanged submissions must not be regraded"
    assert grades_csv(course)[("ann", LESSON1)] == 1.5
    assert grades_csv(course)[("ben", LESSON1)] == 3.5
    rows = report(course)
    assert rows[("ann", LESSON1)]["score"] == 1.5
    assert rows[("ann", LESSON1)]["manual"] == "ex2_test 1.5/2 (autograded 0)"
    assert rows[("ben", LESSON1)]["manual"] == "ex1_test +0.5 extra credit"
    assert manual_grades(course, "ann")[0] == {"ex2_test": (1.5, None)}


def test_a_changed_submission_is_regraded_and_keeps_the_manual_part(course):
    set_by_hand(course, "ann", "ex2_test", manual_score=1.5)
    fixed = student_notebook(course, LESSON1, {"ex2_answer": None})  # ex1 now right, ex2 still the stub
    submit(course, "ann", LESSON1, fixed)
    summary = grade(course, assignments=[LESSON1], workers=1, progress=False, log=lambda *_: None)
    assert summary.graded == 1 and summary.manual_kept == [f"ann/{LESSON1}"]
    assert manual_grades(course, "ann")[0] == {"ex2_test": (1.5, None)}
    assert grades_csv(course)[("ann", LESSON1)] == 1 + 1.5  # ex1 autograded, ex2 by hand
    row = report(course)[("ann", LESSON1)]
    assert row["manual"] == "kept after regrading: ex2_test 1.5/2 (autograded 0)"
    with Gradebook(course.db_url, COURSE_ID) as gb:  # Formgrader lists it as needing a look again
        assert gb.find_grade("ex2_test", LESSON1, LESSON1, "ann").needs_manual_grade
    message = t("grade_manual_kept", "ja", n=1, which=f"ann/{LESSON1}")
    assert "Formgrader" in message and "ann/" in message


def test_a_notebook_flagged_for_review_is_flagged_in_formgrader_with_its_page(course):
    rows = report(course)
    assert "ctypes" in rows[("eve", LESSON1)]["review"]
    assert manual_grades(course, "eve")[1] is True
    assert manual_grades(course, "ben")[1] is False
    assert all(r["formgrader"].startswith("formgrader/submissions/") for (_, a), r in rows.items() if a == LESSON1)
    assert not any(r["formgrader"] for r in rows.values() if r["status"] == "missing")
