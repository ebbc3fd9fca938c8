"""The instructor's loop in a temporary Japanese course: release → LMS zip → collect → grade.

Moodle, Canvas, Blackboard and folder-style names, a Colab round trip, a resubmission and files
that are not submissions; then the exact grades.csv, feedback in Japanese without hidden tests,
an idempotent re-run and a one-student regrade.
"""
from __future__ import annotations

import zipfile

import nbformat
import pytest

from autograde.collect import collect
from autograde.grade import grade
from autograde.sandbox import probe

from _autograde import LESSON1, LESSON2, make_course, report, strip_metadata, student_notebook

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]

RAISES = "def grads_of_product(x0, w0):\n    return undefined_helper(x0, w0)\n"

EXPECTED_CSV = """\
assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score
01_fixture_scalar,,,1001,,,,3.0,0.0,3.0,3.0
01_fixture_scalar,,,1002,,,,3.0,0.0,3.0,3.0
01_fixture_scalar,,,1003,,,,1.0,0.0,1.0,3.0
01_fixture_scalar,,,1004,,,,0.0,0.0,0.0,3.0
01_fixture_scalar,,,s1006,,,,0.0,0.0,0.0,3.0
01_fixture_scalar,,2024-05-01 10:30:00,tanaka,,,,1.0,0.0,1.0,3.0
02_fixture_chain,,,1001,,,,2.0,0.0,2.0,2.0
02_fixture_chain,,,1002,,,,0.0,0.0,0.0,2.0
02_fixture_chain,,,1003,,,,0.0,0.0,0.0,2.0
02_fixture_chain,,,1004,,,,0.0,0.0,0.0,2.0
02_fixture_chain,,,s1006,,,,2.0,0.0,2.0,2.0
02_fixture_chain,,,tanaka,,,,0.0,0.0,0.0,2.0
"""


def _zip(course, path):
    nbs = {
        "田中 愛子_1001_assignsubmission_file_/01_fixture_scalar.ipynb": student_notebook(course, LESSON1),
        "田中 愛子_1001_assignsubmission_file_/02_fixture_chain.ipynb": student_notebook(course, LESSON2),
        "Kim Minjun_1002_assignsubmission_file_Copy of 01_fixture_scalar.ipynb":
            strip_metadata(student_notebook(course, LESSON1)),
        "parkjiwoo_1003_555001_01_fixture_scalar.ipynb": student_notebook(course, LESSON1, "wrong"),
        "parkjiwoo_1003_555002_01_fixture_scalar-1.ipynb":
            student_notebook(course, LESSON1, {"ex2_answer": None}),
        "smithalex_LATE_1004_555003_02_fixture_chain.ipynb": student_notebook(course, LESSON2, "wrong"),
        "smithalex_LATE_1004_555003_01_fixture_scalar.ipynb": student_notebook(course, LESSON1, "stub"),
        "Lesson 1_tanaka_attempt_2024-05-01-10-30-00_01_fixture_scalar.ipynb":
            student_notebook(course, LESSON1, {"ex2_answer": RAISES}),
        "s1006/02_fixture_chain.ipynb のコピー": student_notebook(course, LESSON2),
        "s1006/01_fixture_scalar.ipynb": b"{\"cells\": [",
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, nb in nbs.items():
            zf.writestr(name, nb if isinstance(nb, bytes) else nbformat.writes(nb))
        zf.writestr("README.txt", "Downloaded from the LMS\n")
        zf.writestr("s1006/notes.docx", "not a notebook")
        zf.writestr("misc/scratch.ipynb", nbformat.writes(nbformat.v4.new_notebook()))
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    course = make_course(base / "course", lang="ja")
    download = _zip(course, base / "download.zip")
    collected = collect(course, download, log=lambda *_: None)
    summary = grade(course, workers=2, progress=False, log=lambda *_: None)
    return course, collected, summary


def test_grades_csv_is_exactly_the_expected_one(course):
    course, _, _ = course
    assert course.path("grades.csv").read_text() == EXPECTED_CSV


def test_collect_reports_unknown_files_and_keeps_them(course):
    course, collected, _ = course
    problems = {f["path"]: f["problem"] for f in collected["files"] if f["problem"]}
    assert set(problems) == {"README.txt", "s1006/notes.docx", "misc/scratch.ipynb",
                             "parkjiwoo_1003_555001_01_fixture_scalar.ipynb"}
    assert problems["parkjiwoo_1003_555001_01_fixture_scalar.ipynb"].startswith("superseded by")
    unmatched = list(course.path("unmatched").rglob("*"))
    assert {p.name for p in unmatched if p.is_file()} == {"README.txt", "notes.docx", "scratch.ipynb"}
    kept = list(course.path("lms").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == (course.root.parent / "download.zip").read_bytes()


def test_report_says_what_happened(course):
    course, _, _ = course
    rows = report(course)
    assert rows[("1002", LESSON1)]["status"] == "repaired"
    assert "metadata lost" in rows[("1002", LESSON1)]["repairs"]
    assert rows[("s1006", LESSON1)]["status"] == "unreadable"
    assert rows[("tanaka", LESSON2)]["status"] == "missing"
    assert rows[("1001", LESSON1)]["tests"] == "ex1_test 1/1; ex2_test 2/2"
    assert rows[("1001", LESSON1)]["cells_run"] == "6/6"
    assert all(r["feedback"] for r in rows.values() if r["status"] != "missing")


def test_feedback_is_in_japanese_and_hides_the_hidden_tests(course):
    course, _, _ = course
    pages = {p.parent.parent.name + "/" + p.stem: p.read_text() for p in course.path("feedback").rglob("*.html")}
    assert len(pages) == 9
    wrong = pages[f"1004/{LESSON2}"]
    assert "得点" in wrong and 'lang="ja"' in wrong
    assert "チェックに通りませんでした" in wrong
    assert "まだ解答されていません" in pages[f"1003/{LESSON1}"]
    assert "非公開のテストは表示していません" in wrong
    colab = pages[f"1002/{LESSON1}"]
    assert "採点用の情報が失われていました" in colab and "Copy of 01_fixture_scalar.ipynb" in colab
    assert "JSON が壊れています" in pages[f"s1006/{LESSON1}"]
    for page in pages.values():
        assert "BEGIN HIDDEN TESTS" not in page
        assert "-1.5, 0.3, 4.0" not in page
        assert "(-2.0, 0.5), (3.0, -1.0)" not in page
        assert "-2.0, 1.2" not in page


def test_regrading_unchanged_submissions_is_idempotent(course):
    course, _, _ = course
    before_csv = course.path("grades.csv").read_text()
    before_report = report(course)
    summary = grade(course, workers=2, progress=False, log=lambda *_: None)
    assert summary.graded == 0 and summary.skipped == 9
    assert course.path("grades.csv").read_text() == before_csv
    assert report(course) == before_report


def test_one_student_is_regraded_alone(course):
    course, _, _ = course
    before = report(course)
    summary = grade(course, students=["1003"], workers=2, progress=False, log=lambda *_: None)
    assert summary.graded == 1
    assert course.path("grades.csv").read_text() == EXPECTED_CSV
    after = report(course)
    assert set(after) == set(before)
    assert after[("1003", LESSON1)]["score"] == 1.0
