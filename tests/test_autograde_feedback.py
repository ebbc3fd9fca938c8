"""Feedback shows neither hidden tests nor expected values, and speaks the course language."""
from __future__ import annotations

import json

import nbformat

from autograde.feedback import SanitizeFeedback, hidden_lines
from autograde.messages import LANGUAGES, labels

TEST = ("x = gc.answer(f, 2.0)\ngc.assert_grad(x, g, dg)\n### BEGIN HIDDEN TESTS\n"
        "for secret_point in (-1.5, 0.3):\n    gc.assert_grad(gc.answer(f, secret_point), g, lambda x: 3 * x ** 2)\n"
        "### END HIDDEN TESTS\n")


def _notebook():
    test = nbformat.v4.new_code_cell(TEST, metadata={"nbgrader": {
        "grade": True, "grade_id": "ex1_test", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False}})
    test.outputs = [
        nbformat.v4.new_output("stream", text="printed by the student's function\n"),
        nbformat.v4.new_output("error", ename="GradcoachAssertionError", evalue="チェックに通りませんでした",
                               traceback=["\x1b[0;31m----> 4\x1b[0m gc.assert_grad(gc.answer(f, secret_point), g, "
                                          "lambda x: 3 * x ** 2)"]),
    ]
    leak = nbformat.v4.new_code_cell("print(stolen)")
    leak.outputs = [nbformat.v4.new_output("stream", text="for secret_point in (-1.5, 0.3):\n")]
    return nbformat.v4.new_notebook(cells=[leak, test])


def test_hidden_tests_tracebacks_and_leaks_are_removed(tmp_path):
    notes = tmp_path / "s1" / "a" / "a.json"
    notes.parent.mkdir(parents=True)
    notes.write_text(json.dumps({"notes": ["ノート"]}))
    nb = _notebook()
    assert "for secret_point in (-1.5, 0.3):" in hidden_lines(nb)
    nb, resources = SanitizeFeedback(lang="ja", notes_dir=str(tmp_path)).preprocess(
        nb, {"nbgrader": {"student": "s1", "assignment": "a", "notebook": "a"}})
    text = json.dumps(nb, ensure_ascii=False)
    assert "secret_point" not in text and "3 * x ** 2" not in text and "BEGIN HIDDEN" not in text
    leak, test = nb.cells
    assert test.source.endswith("# （非公開のテストは表示していません）\n")
    assert [o.output_type for o in test.outputs] == ["error"]
    assert test.outputs[0].traceback == ["GradcoachAssertionError: チェックに通りませんでした"]
    assert resources["autograde"]["notes"] == ["ノート"]
    assert resources["autograde"]["labels"]["score"] == "得点"


def test_the_feedback_pages_labels_are_distinct_in_every_language():
    # (that every message exists in every language: tests/test_catalogue.py)
    for lang in LANGUAGES:
        assert len(set(labels(lang).values())) >= len(labels(lang)) - 2
