"""Matching a submission back to its release (Colab, reordered, duplicated, deleted cells) and
refusing what is not a notebook. Pure Python: the release form is derived here from the fixture."""
from __future__ import annotations

import copy
import re

import nbformat
import pytest

from autograde.repair import read_notebook, repair
from autograde.sample_class import solution_code

from _autograde import FIXTURE, LESSON1, LESSON2

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
_SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION", re.S)


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def release_of(lesson: str):
    """What nbgrader generate_assignment makes of a solutions notebook (stubs, no hidden tests)."""
    nb = nbformat.read(FIXTURE / f"{lesson}.ipynb", as_version=4)
    for cell in nb.cells:
        if _meta(cell).get("solution"):
            cell.source = _SOLUTION.sub("# YOUR CODE HERE\nraise NotImplementedError()", cell.source)
        if _meta(cell).get("grade"):
            cell.source = _HIDDEN.sub("", cell.source).rstrip() + "\n"
    return nb


RELEASE = release_of(LESSON1)
OTHER = {LESSON2: release_of(LESSON2)}
SOLUTIONS = {_meta(c)["grade_id"]: solution_code(c) for c in nbformat.read(FIXTURE / f"{LESSON1}.ipynb", 4).cells
             if _meta(c).get("solution")}


def answered(nb=None):
    nb = copy.deepcopy(nb or RELEASE)
    for cell in nb.cells:
        if _meta(cell).get("solution"):
            cell.source = SOLUTIONS[_meta(cell)["grade_id"]]
    return nb


def fix(nb, lang="en"):
    return repair(nbformat.writes(nb).encode(), RELEASE, lang, LESSON1, OTHER)


def ids(nb):
    return [_meta(c).get("grade_id") for c in nb.cells]


def answer_source(nb, grade_id):
    return next(c.source for c in nb.cells if _meta(c).get("grade_id") == grade_id)


def test_clean_submission_is_left_as_it_is():
    result = fix(answered())
    assert result.status == "ok" and result.repairs == [] and result.notes == []
    assert [c.source for c in result.notebook.cells] == [c.source for c in answered().cells]
    assert ids(result.notebook) == ids(RELEASE)


def test_colab_lost_metadata_is_matched_by_content():
    nb = answered()
    for cell in nb.cells:
        cell.metadata = {"id": "x", "colab": {}}
    result = fix(nb)
    assert result.status == "ok"
    assert ids(result.notebook) == ids(RELEASE)
    assert answer_source(result.notebook, "ex1_answer") == SOLUTIONS["ex1_answer"]
    assert any("metadata lost" in r for r in result.repairs)
    assert result.notebook.metadata == RELEASE.metadata


def test_reordered_cells_are_put_back_in_order():
    nb = answered()
    tests = [i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == "ex1_test"][0]
    nb.cells.insert(0, nb.cells.pop(tests))
    result = fix(nb)
    assert ids(result.notebook) == ids(RELEASE)
    assert "cells reordered" in result.repairs


def test_of_duplicated_answers_the_one_run_last_is_graded():
    nb = answered()
    at = ids(nb).index("ex1_answer")
    early = copy.deepcopy(nb.cells[at])
    early.source = "def grad_of_cube(x0):\n    return None  # first try\n"
    early.execution_count, nb.cells[at].execution_count = 9, 4
    nb.cells.insert(at + 1, early)
    result = fix(nb)
    assert answer_source(result.notebook, "ex1_answer").endswith("# first try\n")
    assert any("duplicated 2x" in r for r in result.repairs)
    nb.cells[at].execution_count, early.execution_count = None, None
    assert answer_source(fix(nb).notebook, "ex1_answer").endswith("# first try\n")  # else: the last one


def test_edited_and_deleted_test_cells_come_from_the_release():
    nb = answered()
    for cell in nb.cells:
        if _meta(cell).get("grade_id") == "ex1_test":
            cell.source = "pass"
    nb.cells = [c for c in nb.cells if _meta(c).get("grade_id") != "ex2_test"]
    result = fix(nb)
    release_tests = {_meta(c)["grade_id"]: c.source for c in RELEASE.cells if _meta(c).get("grade")}
    assert {gid: answer_source(result.notebook, gid) for gid in release_tests} == release_tests
    assert any("2 test/read-only cell(s)" in r for r in result.repairs)


def test_deleted_answer_becomes_unanswered_and_the_student_is_told():
    nb = answered()
    nb.cells = [c for c in nb.cells if _meta(c).get("grade_id") != "ex2_answer"]
    result = fix(nb, lang="ko")
    assert "raise NotImplementedError()" in answer_source(result.notebook, "ex2_answer")
    assert any("`grads_of_product`" in note and "답하지 않은" in note for note in result.notes)


def test_answer_cell_turned_into_markdown_is_still_the_answer():
    nb = answered()
    for cell in nb.cells:
        if _meta(cell).get("grade_id") == "ex1_answer":
            cell.cell_type = "markdown"
            cell.metadata = {}
            del cell["outputs"], cell["execution_count"]
    result = fix(nb)
    cell = next(c for c in result.notebook.cells if _meta(c).get("grade_id") == "ex1_answer")
    assert cell.cell_type == "code" and cell.source == SOLUTIONS["ex1_answer"]


def test_students_own_cells_stay_after_the_cell_they_followed():
    nb = answered()
    at = ids(nb).index("ex1_answer")
    nb.cells.insert(at, nbformat.v4.new_code_cell("def helper(x):\n    return x ** 3\n"))
    result = fix(nb)
    position = [c.source for c in result.notebook.cells].index("def helper(x):\n    return x ** 3\n")
    assert ids(result.notebook)[position + 1] == "ex1_answer"
    assert result.repairs == []


def test_outputs_are_dropped():
    nb = answered()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="x" * 1000)]
    assert all(not c.get("outputs") for c in fix(nb).notebook.cells)


def test_another_lessons_notebook_is_named():
    result = fix(OTHER[LESSON2])
    assert result.status == "wrong_notebook"
    assert LESSON2 in result.problem and LESSON1 in result.problem


def test_a_notebook_of_nothing_is_the_wrong_notebook():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello')")])
    assert fix(nb).status == "wrong_notebook"


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"   \n", "empty"),
    ('{"cells": [], "metadata": {"title": "微分"}}'.encode("cp932"), "UTF-8"),
    (b'{"cells": [', "broken JSON"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (b"print('a python file')", "broken JSON"),
])
def test_unreadable_files_get_a_reason(data, words):
    result = repair(data, RELEASE, "en", LESSON1, OTHER)
    assert result.status == "unreadable" and words in result.problem
    nb, problem = read_notebook(data, "ja")
    assert nb is None and problem
