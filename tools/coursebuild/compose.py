"""Assemble one language's notebook (nbgrader source form) from a checked lesson."""
from __future__ import annotations

import hashlib
import json

import nbformat
from nbformat import NotebookNode

from gradcoach_languages import LANGUAGES, native_name

from .config import CourseConfig
from .lesson import Lesson, SourceCell
from .prose import unwrap_japanese
from .strings import localise

FORMS = ("solutions", "notebooks")  # nbgrader source form, student form
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_NBGRADER = {"grade": False, "grade_id": "course_setup", "locked": True, "schema_version": 3,
                  "solution": False, "task": False}


def notebook_path(form: str, lang: str, stem: str) -> str:
    """Where a generated notebook lives, relative to the repository root (also its path on GitHub)."""
    return f"{form}/{lang}/{stem}.ipynb"


def header_markdown(lesson: Lesson, lang: str, form: str, config: CourseConfig) -> str:
    own = notebook_path(form, lang, lesson.stem)
    links = " · ".join(
        f"[{native_name(other)}](../{other}/{lesson.stem}.ipynb) "
        f"([Colab]({config.colab_url(notebook_path(form, other, lesson.stem))}))"
        for other in LANGUAGES if other != lang)
    return (f"# {lesson.titles[lang]}\n\n"
            f"[![{config.text(lang, 'colab_badge')}]({COLAB_BADGE_IMAGE})]({config.colab_url(own)})\n\n"
            f"{_lead_in(config.text(lang, 'other_languages'))}{links}")


def _lead_in(label: str) -> str:
    """The label and its separator: course.yml may end it with its own colon (full-width 「：」 needs no space)."""
    if label.endswith("："):
        return label
    return label.rstrip(":") + ": "


def setup_source(lang: str, config: CourseConfig) -> str:
    # json.dumps gives a double-quoted Python string literal for any install source.
    return (f"{config.text(lang, 'setup_comment')}\n"
            "import importlib.util\n"
            "import os\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            'if importlib.util.find_spec("gradcoach") is None:\n'
            '    source = os.environ.get("GRADCOACH_INSTALL") or '
            f"{json.dumps(config.gradcoach_install, ensure_ascii=False)}\n"
            '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)\n'
            "    importlib.invalidate_caches()\n"
            "\n"
            "import torch\n"
            "import gradcoach as gc\n"
            f'gc.set_language("{lang}")\n'
            'print(f"torch {torch.__version__}, gradcoach {gc.__version__}")')


def _cell_ids(lesson: Lesson, cells: list) -> list:
    """Stable ids: the grade_id for nbgrader cells, else a hash of the lesson and the cell's text."""
    ids, used = [], {"course-header", "course-setup"}
    for cell in cells:
        base = cell.grade_id or "c" + hashlib.sha256(
            f"{lesson.stem}\0{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:12]
        cid, n = base, 1
        while cid in used:  # the same text twice in a lesson
            n += 1
            cid = f"{base}-{n}"
        used.add(cid)
        ids.append(cid)
    return ids


def _body_cell(cell: SourceCell, cid: str, lang: str, strings: dict) -> NotebookNode:
    metadata = {}
    if cell.nbgrader is not None:
        metadata["nbgrader"] = dict(cell.nbgrader)
    if cell.tags:
        metadata["tags"] = list(cell.tags)
    if cell.cell_type == "markdown":
        source = unwrap_japanese(cell.source) if lang == "ja" else cell.source
        return nbformat.v4.new_markdown_cell(source, id=cid, metadata=metadata)
    return nbformat.v4.new_code_cell(localise(cell.source, strings, lang), id=cid, metadata=metadata)


def compose(lesson: Lesson, lang: str, form: str, config: CourseConfig) -> NotebookNode:
    """The ``lang`` notebook in nbgrader source form: header, setup cell, then the lesson's cells."""
    cells = lesson.cells_for(lang)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)})
    nb.cells = [
        nbformat.v4.new_markdown_cell(header_markdown(lesson, lang, form, config), id="course-header"),
        nbformat.v4.new_code_cell(setup_source(lang, config), id="course-setup",
                                  metadata={"nbgrader": dict(SETUP_NBGRADER)}),
    ] + [_body_cell(cell, cid, lang, lesson.strings)
         for cell, cid in zip(cells, _cell_ids(lesson, cells), strict=True)]
    return nb


def serialize(nb: NotebookNode) -> bytes:
    """Byte-stable JSON: nbformat sorts the keys; one trailing newline, as nbformat.write adds."""
    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")
