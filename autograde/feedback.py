"""Feedback a student may see: no hidden tests, no expected values, in the course language.

nbgrader's feedback shows the autograded notebook as it is (nbgrader issues 917, 1363): test
cells with their hidden tests, and tracebacks that quote the failing test line, expected formula
included. :class:`SanitizeFeedback` runs in ``GenerateFeedback`` (after GetGrades) and

- replaces the hidden part of every test cell by a one-line note;
- reduces a test cell's outputs to its error's name and message (gradcoach's diagnosis, which
  never states hidden expected values), dropping tracebacks, printed text and displays;
- removes any line of hidden test code that a student's code printed elsewhere;
- adds the grader's notes (what was repaired, what timed out) and the translated labels the
  template (templates/feedback/index.html.j2) uses.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbgrader
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Unicode

from coursebuild import markers

from .diagnoses import without_diagnoses
from .messages import labels, t

TEMPLATES = Path(__file__).with_name("templates")
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hidden_lines(nb) -> set[str]:
    """Non-trivial lines of every hidden test block in the notebook."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade(cell):
            found |= {line.strip() for line in markers.hidden_lines(cell.source) if len(line.strip()) >= 8}
    return found


def _scrub(text: str, lines: set[str]) -> str:
    for line in lines:
        if line in text:
            text = text.replace(line, "…")
    return text


def _scrub_output(output, lines: set[str]) -> None:
    if "text" in output:
        output["text"] = _scrub(output["text"], lines)
    for key, value in list(output.get("data", {}).items()):
        if isinstance(value, str) and (key.startswith("text/") or key.endswith("json")):
            output["data"][key] = _scrub(value, lines)
    if output.get("output_type") == "error":
        output["evalue"] = _scrub(output.get("evalue", ""), lines)
        output["traceback"] = [_scrub(line, lines) for line in output.get("traceback", [])]


def test_cell_outputs(cell) -> list:
    """Only the errors of a test cell, as 'Name: message' without the traceback."""
    kept = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = _ANSI.sub("", output.get("evalue", ""))
            output["traceback"] = [f"{output.get('ename', 'Error')}: {message}"]
            kept.append(output)
    return kept


def read_notes(notes_dir: Path, student: str, assignment: str, notebook: str) -> list[str]:
    path = notes_dir / student / assignment / f"{notebook}.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("notes", []))


class SanitizeFeedback(NbGraderPreprocessor):
    lang = Unicode("en", help="Course language of the feedback").tag(config=True)
    notes_dir = Unicode("", help="Where the grading worker left each notebook's notes").tag(config=True)

    def preprocess(self, nb, resources):
        lines = hidden_lines(nb)
        note = "# " + t("fb_hidden", self.lang)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_grade(cell) and not is_solution(cell):
                cell.source = markers.replace_hidden(cell.source, note)
                cell.outputs = test_cell_outputs(cell)
            cell.outputs = without_diagnoses(cell.get("outputs", []))
            for output in cell.outputs:
                _scrub_output(output, lines)
        info = resources.get("nbgrader", {})
        notes = read_notes(Path(self.notes_dir), info.get("student", ""), info.get("assignment", ""),
                           info.get("notebook", "")) if self.notes_dir else []
        resources["autograde"] = {"lang": self.lang, "labels": labels(self.lang), "notes": notes,
                                  "notes_title": t("notes_title", self.lang)}
        return nb, resources


def unreadable_page(lang: str, notebook: str, lines: list[str]) -> str:
    """The feedback page for a submission nbgrader could not open at all."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"><title>{html.escape(notebook)}'
            f"</title></head>\n<body>\n<h1>{html.escape(notebook)} ({t('fb_score', lang)}: 0)</h1>\n"
            f"<h2>{t('fb_unreadable_title', lang)}</h2>\n<ul>{items}</ul>\n</body>\n</html>\n")
