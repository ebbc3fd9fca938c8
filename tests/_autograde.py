"""Shared by the grading tests (tests/test_autograde_*.py): a course released from the fixture
assignments in tests/fixtures/autograde, and submissions written the way students would."""
from __future__ import annotations

import copy
import csv
import hashlib
import json
from pathlib import Path

import nbformat

from autograde.course import Course, release
from autograde.sample_class import solution_code

ROOT = Path(__file__).resolve().parents[1]

FIXTURE = ROOT / "tests" / "fixtures" / "autograde" / "solutions" / "en"
LESSON1, LESSON2 = "01_fixture_scalar", "02_fixture_chain"
POINTS = {LESSON1: {"ex1_test": 1, "ex2_test": 2}, LESSON2: {"ex1_test": 2}}

WRONG = {
    LESSON1: {
        "ex1_answer": "def grad_of_cube(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n"
                      "    (2 * x ** 3).backward()\n    return x\n",
        "ex2_answer": "def grads_of_product(x0, w0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n"
                      "    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\n"
                      "    (x * w).backward()\n    return x, w\n",
    },
    LESSON2: {
        "ex1_answer": "def grad_of_exp_sin(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n"
                      "    torch.exp(x).backward()\n    return x\n",
    },
}


def make_course(root: Path, lang: str = "en", **settings) -> Course:
    """A course in ``root`` with both fixture assignments released (sandbox on)."""
    course = Course(root)
    for key, value in settings.items():
        setattr(course.settings, key, value)
    release(course, FIXTURE, lang, log=lambda *_: None)
    return course


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def student_notebook(course: Course, lesson: str, answers: str | dict = "correct", extra: list[str] = (),
                     after: str = "course_setup"):
    """The release notebook with answers filled in: ``"correct"``, ``"wrong"``, ``"stub"`` or a dict
    grade_id → code (missing ids: correct). ``extra`` code cells go after the cell ``after``."""
    nb = nbformat.read(course.release_notebook(lesson), as_version=4)
    source = nbformat.read(course.source_notebook(lesson), as_version=4)
    solutions = {_meta(c)["grade_id"]: solution_code(c) for c in source.cells if _meta(c).get("solution")}
    if answers == "wrong":
        answers = WRONG[lesson]
    elif answers == "stub":
        answers = {gid: None for gid in solutions}
    elif answers == "correct":
        answers = {}
    count = 0
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid in solutions:
            code = answers.get(gid, solutions[gid])
            if code is not None:
                cell.source = code
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    if extra:
        at = next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == after) + 1
        nb.cells[at:at] = [nbformat.v4.new_code_cell(code) for code in extra]
    return nb


def submit(course: Course, student: str, lesson: str, content) -> Path:
    """Put a submission straight into submitted/ (bytes, or a notebook)."""
    path = course.path("submitted", student, lesson, f"{lesson}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else nbformat.writes(content).encode())
    return path


def strip_metadata(nb):
    """What Colab does: no nbgrader metadata, editor ids instead."""
    nb = copy.deepcopy(nb)
    for k, cell in enumerate(nb.cells):
        cell.metadata = {"id": f"colab{k}"}
    nb.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    return nb


def grades_csv(course: Course) -> dict:
    with open(course.path("grades.csv"), newline="") as fh:
        return {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(fh)}


def report(course: Course) -> dict:
    rows = json.loads(course.path("report.json").read_text())
    return {(r["student"], r["assignment"]): r for r in rows}


def digest_tree(path: Path) -> dict:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def copy_course(course: Course, target: Path) -> Course:
    """A copy of a course directory (its SQLite gradebook included) at ``target``."""
    import shutil

    shutil.copytree(course.root, target)
    return Course(target)


def comparable_report(course: Course) -> list[dict]:
    """report.json without what depends on the machine or the gradebook: how long a notebook took,
    and the Formgrader link (it carries the gradebook's random submission id)."""
    return [{k: v for k, v in row.items() if k not in ("seconds", "formgrader")}
            for row in json.loads(course.path("report.json").read_text())]
