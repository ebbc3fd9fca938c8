"""``make export FORMAT=canvas|moodle|csv``: the gradebook's scores in a file an LMS imports as is.

Student ids are the ones ``collect`` read from the LMS download (so they match the LMS's own);
names come from the same download paths where the LMS put them there. Scores are the
gradebook's (manual scores and late penalties included, as in grades.csv); an assignment a student
submitted nothing for scores 0, as nbgrader's own export does; one the cluster did not run (report
status ``not_run``) has an empty cell, as in grades.csv.

- ``canvas``: Canvas's gradebook CSV: ``Student, ID, SIS User ID, SIS Login ID, Section``, one
  column per assignment, and the ``Points Possible`` row. Canvas matches rows by ``ID`` (the Canvas
  user id in the download's file names) and columns by assignment name: name the Canvas
  assignments like the course's (``01_scalar_derivatives``) or rename the columns.
- ``moodle``: Moodle's grade import CSV: ``Identifier`` (map it to the user field the download
  used), ``Full name``, one column per assignment.
- ``csv``: one row per student, every test cell's score (``assignment:test``), each assignment's
  total and the course total.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from .course import COURSE_ID, Course, CourseError

FORMATS = ("canvas", "moodle", "csv")
_MOODLE_NAME = re.compile(r"^(?P<name>[^/]+?)_\d+_assign(?:submission|feedback)_")
_CANVAS_NAME = re.compile(r"^(?P<name>[a-z0-9]+)_(?:LATE_)?\d+_")


def _names(course: Course) -> dict[str, str]:
    """student id → the name the LMS download showed (Moodle: full name, Canvas: its name slug)."""
    path = course.path(".autograde", "collected.json")
    collected = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    names = {}
    for key, entry in sorted(collected.items()):
        lms_path = entry.get("lms_path", "")
        match = _MOODLE_NAME.match(lms_path) or _CANVAS_NAME.match(Path(lms_path).name)
        if match:
            names.setdefault(key.split("/", 1)[0], match["name"])
    return names


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _table(course: Course) -> tuple[list[str], dict[str, float], dict[str, list[str]], dict]:
    """Assignments, their points, their tests, and student → assignment → (total, {test: score})."""
    from nbgrader.api import Gradebook

    assignments = list(course.settings.assignments)
    scores: dict[str, dict[str, tuple[float, dict[str, float]]]] = {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        points = {a: float(gb.find_assignment(a).max_score) for a in assignments}
        tests = {a: sorted(c.name for nb in gb.find_assignment(a).notebooks for c in nb.grade_cells)
                 for a in assignments}
        for student in gb.students:
            scores[student.id] = {}
            for a in assignments:
                try:
                    sub = gb.find_submission(a, student.id)
                except Exception:  # noqa: BLE001 - MissingEntry: nothing submitted
                    continue
                scores[student.id][a] = (float(sub.score), {g.name: float(g.score) for nb in sub.notebooks
                                                            for g in nb.grades})
    for student, a in _not_run(course):  # no score (cluster.unscored): not 0, not an older submission's
        scores.setdefault(student, {})[a] = (None, {})
    return assignments, points, tests, dict(sorted(scores.items()))


def _not_run(course: Course) -> set[tuple[str, str]]:
    """(student, assignment) pairs the last ``make grade`` could not run, from its report.json."""
    from .cluster import unscored

    path = course.path("report.json")
    return unscored(json.loads(path.read_text(encoding="utf-8")) if path.exists() else [])


def render(course: Course, fmt: str) -> str:
    if fmt not in FORMATS:
        raise CourseError("ce_unknown_format", format=repr(fmt), choices=", ".join(FORMATS))
    assignments, points, tests, scores = _table(course)
    names = _names(course)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    total = lambda student, a: scores[student].get(a, (0.0, {}))[0]  # noqa: E731
    if fmt == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments])
        writer.writerow(["    Points Possible", "", "", "", "", *(_fmt(points[a]) for a in assignments)])
        for student in scores:
            writer.writerow([names.get(student, student), student, "", "", "",
                             *(_fmt(total(student, a)) for a in assignments)])
    elif fmt == "moodle":
        writer.writerow(["Identifier", "Full name", *assignments])
        for student in scores:
            writer.writerow([student, names.get(student, ""), *(_fmt(total(student, a)) for a in assignments)])
    else:
        header = ["student_id"]
        for a in assignments:
            header += [f"{a}:{test}" for test in tests[a]] + [a]
        writer.writerow([*header, "total"])
        for student in scores:
            row = [student]
            for a in assignments:
                cells = scores[student].get(a, (0.0, {}))[1]
                row += [_fmt(cells.get(test)) for test in tests[a]] + [_fmt(total(student, a))]
            totals = [total(student, a) for a in assignments]
            writer.writerow([*row, _fmt(None if None in totals else sum(totals))])
    return out.getvalue()


def export(course: Course, fmt: str, target: Path | None = None) -> Path:
    """Write ``export-<fmt>.csv`` (UTF-8 with a byte-order mark, which Excel and both LMSs read) in
    the course directory, or ``target``."""
    text = render(course, fmt)
    target = target or course.path(f"export-{fmt}.csv")
    target.write_text(text, encoding="utf-8-sig")
    return target
