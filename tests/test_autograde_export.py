"""Grades in each LMS's own import format, for the graded sample class (exact files)."""
from __future__ import annotations

import csv

import pytest

from autograde.course import CourseError
from autograde.export import export, render
from autograde.sandbox import probe

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]
A1, A2 = "01_scalar_derivatives", "02_chain_rule"


def _lines(course, fmt):
    return render(course, fmt).splitlines()


def test_canvas_gradebook_csv_has_its_columns_points_row_and_the_download_ids(sample_graded):
    lines = _lines(sample_graded, "canvas")
    assert lines[0] == f"Student,ID,SIS User ID,SIS Login ID,Section,{A1},{A2}"
    assert lines[1] == "    Points Possible,,,,,8,8"
    assert "田中 愛子,20001,,,,8,8" in lines    # a Moodle-style name from the download
    assert "Kim Minjun,20002,,,,3,8" in lines
    assert len(lines) == 2 + 14


def test_moodle_grade_import_has_an_identifier_column_and_one_column_per_assignment(sample_graded):
    lines = _lines(sample_graded, "moodle")
    assert lines[0] == f"Identifier,Full name,{A1},{A2}"
    assert "20001,田中 愛子,8,8" in lines and "20003,parkjiwoo,0,3" in lines  # Canvas-style: its name slug
    assert len(lines) == 1 + 14


def test_generic_csv_has_every_test_cell_and_totals_matching_grades_csv(sample_graded):
    lines = _lines(sample_graded, "csv")
    tests = ",".join(f"{a}:ex{k}_test" for a in (A1,) for k in range(1, 5))
    assert lines[0].startswith(f"student_id,{tests},{A1},")
    assert lines[1] == "20001,1,2,2,3,8,1,2,2,3,8,16"
    assert "20003,0,0,0,0,0,1,2,0,0,3,3" in lines
    with open(sample_graded.path("grades.csv"), newline="") as fh:
        expected = {}
        for r in csv.DictReader(fh):
            expected[r["student_id"]] = expected.get(r["student_id"], 0) + float(r["score"])
    rows = list(csv.DictReader(lines))
    assert {r["student_id"]: float(r["total"]) for r in rows} == expected


def test_the_file_is_utf8_with_a_bom_and_an_unknown_format_is_refused(sample_graded, tmp_path):
    path = export(sample_graded, "canvas", tmp_path / "canvas.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfStudent,ID,")
    with pytest.raises(CourseError, match="canvas, moodle, csv"):
        render(sample_graded, "blackboard")
