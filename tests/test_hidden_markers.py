"""One hidden-test marker rule (coursebuild/markers.py), nbgrader's: the student form (nbgrader's
ClearHiddenTests), the lesson checks and the feedback sanitizer hide exactly the same lines, for
every way of writing the markers that nbgrader accepts."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests

from autograde.feedback import SanitizeFeedback
from coursebuild import markers

VARIANTS = {
    "three hashes": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
    "one hash": ("# BEGIN HIDDEN TESTS", "# END HIDDEN TESTS"),
    "two hashes": ("## BEGIN HIDDEN TESTS", "## END HIDDEN TESTS"),
    "no space": ("#BEGIN HIDDEN TESTS", "#END HIDDEN TESTS"),
    "trailing text": ("### BEGIN HIDDEN TESTS ###", "### END HIDDEN TESTS (do not edit)"),
    "indented": ("    ### BEGIN HIDDEN TESTS", "    ### END HIDDEN TESTS"),
    "mixed": ("# BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}
SECRET = "gc.assert_grad(gc.answer(f, -1.5), g, lambda x: 3 * x ** 2)"


def _cell(begin: str, end: str):
    indent = begin[: len(begin) - len(begin.lstrip())]
    source = ("def test():\n    x = gc.answer(f, 2.0)\n" if indent else "x = gc.answer(f, 2.0)\n") + \
        f"{begin}\n{indent}{SECRET}\n{end}\n{indent}print('visible')"
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": "ex1_test", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False}})


def _nbgrader(cell) -> str:
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb.cells[0].source


@pytest.mark.parametrize("variant", VARIANTS)
def test_nbgrader_and_our_rule_hide_the_same_lines(variant):
    cell = _cell(*VARIANTS[variant])
    assert markers.replace_hidden(cell.source) == _nbgrader(nbformat.from_dict(json.loads(json.dumps(cell))))
    assert markers.hidden_lines(cell.source) == [cell.source.split("\n")[-3]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_feedback_hides_every_variant_nbgrader_hides(variant):
    nb = nbformat.v4.new_notebook(cells=[_cell(*VARIANTS[variant])])
    leak = nbformat.v4.new_code_cell("print(stolen)")
    leak.outputs = [nbformat.v4.new_output("stream", text=SECRET + "\n")]
    nb.cells.append(leak)
    nb, _ = SanitizeFeedback(lang="en").preprocess(nb, {"nbgrader": {}})
    text = json.dumps(nb)
    assert "3 * x ** 2" not in text and "HIDDEN TESTS" not in text
    assert "hidden tests are not shown" in nb.cells[0].source and "print('visible')" in nb.cells[0].source


def test_lowercase_words_are_not_a_marker_for_nbgrader_nor_for_us():
    cell = _cell("# begin hidden tests", "# end hidden tests")
    assert _nbgrader(nbformat.from_dict(json.loads(json.dumps(cell)))) == cell.source
    assert markers.hidden_regions(cell.source) == []


def test_the_lesson_checks_use_the_same_markers():
    from coursebuild import lesson

    assert lesson.HIDDEN_MARKERS is markers.HIDDEN_MARKERS
