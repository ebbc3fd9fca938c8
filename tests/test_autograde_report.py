"""The class report of the graded sample class: its numbers are the gradebook's, the diagnoses are
the ones gradcoach gave (recorded per test cell without changing what students read)."""
from __future__ import annotations

import csv
import json
import shutil
from collections import Counter

import nbformat
import pytest

from autograde.course import COURSE_ID, Course
from autograde.inside.autograde_diagnosis import MIME
from autograde.report import write_reports
from autograde.sandbox import probe

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]
LESSON1 = "01_scalar_derivatives"


@pytest.fixture(scope="module")
def reported(sample_graded):
    pages = write_reports(sample_graded)
    numbers = {p.stem: json.loads(p.with_suffix(".json").read_text()) for p in pages}
    rows = json.loads(sample_graded.path("report.json").read_text())
    return sample_graded, pages, numbers, rows


def test_scores_and_pass_rates_are_the_gradebooks(reported):
    from nbgrader.api import Gradebook

    course, _, numbers, _ = reported
    with open(course.path("grades.csv"), newline="") as fh:
        totals = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(fh)}
    for assignment, data in numbers.items():
        listed = {s: v for (a, s), v in totals.items() if a == assignment}
        missing = {item.split(" ")[0] for item in data["attention"].get("rp_missing", [])}
        assert data["scores"] == {s: v for s, v in listed.items() if s not in missing}
        assert all(listed[s] == 0 for s in missing)  # grades.csv lists them with 0
        assert sum(n for _, _, n in data["histogram"]) == len(data["scores"])
        with Gradebook(course.db_url, COURSE_ID) as gb:
            for exercise in data["exercises"]:
                grades = [gb.find_grade(exercise["test"], assignment, assignment, s) for s in data["scores"]]
                assert exercise["graded"] == len(grades)
                assert exercise["passed"] == sum(g.score == g.max_score for g in grades)


def test_diagnoses_are_counted_per_test_from_the_recorded_codes(reported):
    _, _, numbers, rows = reported
    recorded = 0
    for assignment, data in numbers.items():
        for exercise in data["exercises"]:
            expected = Counter(code for r in rows if r["assignment"] == assignment
                               for code in r["diagnoses"].get(exercise["test"], []))
            assert {d["code"]: d["students"] for d in exercise["diagnoses"]} == dict(expected)
            recorded += sum(expected.values())
            for d in exercise["diagnoses"]:
                assert d["text"] and "{" not in d["text"]
                assert all(link.startswith("feedback/") for link in d["examples"])
    assert recorded > 0, "the sample class's wrong answers should have left diagnosis codes"


def test_the_codes_reach_the_autograded_notebook_but_never_the_feedback(reported):
    course, _, _, rows = reported
    wrong = next(r for r in rows if r["assignment"] == LESSON1 and r["diagnoses"])
    nb = nbformat.read(course.path("autograded", wrong["student"], LESSON1, f"{LESSON1}.ipynb"), as_version=4)
    test, codes = next(iter(wrong["diagnoses"].items()))
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == test)
    kinds = [o["output_type"] for o in cell.outputs]
    assert "error" in kinds and any(MIME in o.get("data", {}) for o in cell.outputs)
    error = next(o for o in cell.outputs if o["output_type"] == "error")  # what the student reads, unchanged
    assert error["ename"] in ("GradcoachAssertionError", "NotAnswered") and error["evalue"]
    for page in course.path("feedback").rglob("*.html"):
        assert MIME not in page.read_text(encoding="utf-8")


def test_the_page_shows_the_numbers_and_who_needs_a_look(reported):
    course, pages, numbers, _ = reported
    page = next(p for p in pages if p.stem == LESSON1).read_text(encoding="utf-8")
    data = numbers[LESSON1]
    for exercise in data["exercises"]:
        assert f'<td class="n">{exercise["passed"]}/{exercise["graded"]}</td>' in page
    assert 'data-kind="flagged"' in page and "20007" in page  # the sample's cheater
    assert 'data-kind="failed"' in page and "20010" in page   # its broken file
    assert course.path("report", f"{LESSON1}_scores.png").stat().st_size > 1000


def test_the_report_is_written_in_the_course_language(reported, tmp_path):
    course = reported[0]
    ja = tmp_path / "ja"
    shutil.copytree(course.root, ja)
    settings = json.loads((ja / "autograde.json").read_text())
    (ja / "autograde.json").write_text(json.dumps({**settings, "lang": "ja"}))
    page = write_reports(Course(ja), [LESSON1])[0].read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "クラスの採点レポート" in page and "問題ごとの結果" in page


@pytest.mark.parametrize("lang", ["en", "ja", "ko"])
def test_a_diagnosis_excerpt_is_a_whole_first_sentence_not_cut_at_a_dot_in_code(lang):
    """`x.grad`, `.sum()` and torch.Tensor hold dots that end no sentence."""
    from autograde.report import _message_text

    for code in ("grad_none_no_backward", "not_tensor", "grad_cleared_after_backward", "jv_not_vjp"):
        text = _message_text(code, lang)
        assert len(text) > 12 and not text.endswith(("torch.", "(.", "（.")), (code, text)
