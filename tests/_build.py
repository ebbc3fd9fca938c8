"""Shared by the tests of the lesson build (tests/test_build_*.py): the
fixture lesson, and a writer for tiny lessons."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

FIXTURE_LESSONS = ROOT / "tests" / "fixtures" / "lessons"
LESSONS = ROOT / "lessons"

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
course:
  title:
    en: Tiny
    ja: 小さな例
    ko: 작은 예
---
"""


def markdown(lang: str | None, text: str) -> str:
    meta = f" {json.dumps({'lang': lang})}" if lang else ""
    return f"+++{meta}\n\n{text}\n"


def texts(en: str, ja: str, ko: str) -> str:
    return markdown("en", en) + "\n" + markdown("ja", ja) + "\n" + markdown("ko", ko)


def code(source: str, nbgrader: dict | None = None, lang: str | None = None) -> str:
    meta = {}
    if nbgrader is not None:
        meta["nbgrader"] = nbgrader
    if lang is not None:
        meta["lang"] = lang
    header = ""
    if meta:
        header = "---\n" + yaml.safe_dump(meta, sort_keys=True, allow_unicode=True) + "---\n"
    return f"```{{code-cell}} ipython3\n{header}{textwrap.dedent(source).strip()}\n```\n"


def answer_meta(grade_id: str = "ex1_answer", **extra) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True,
            "task": False, **extra}


def graded_meta(grade_id: str = "ex1_test", points: float = 1, **extra) -> dict:
    return {"grade": True, "grade_id": grade_id, "locked": True, "points": points, "schema_version": 3,
            "solution": False, "task": False, **extra}



ANSWER = '''
def double(x0):
    """Return 2 * x0."""
    ### BEGIN SOLUTION
    return 2 * x0
    ### END SOLUTION
'''
TEST = '''
gc.assert_close(gc.answer(double, 1.5), 3.0)
gc.passed()
### BEGIN HIDDEN TESTS
gc.assert_close(gc.answer(double, -4.0), -8.0)
### END HIDDEN TESTS
'''


def write_lesson(folder: Path, *cells: str, name: str = "01_tiny.md", front: str = FRONT_MATTER) -> Path:
    """Write a lesson made of ``cells`` (from :func:`texts`, :func:`markdown`, :func:`code`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(front + "\n" + "\n".join(cells), encoding="utf-8")
    return path


def good_cells() -> list:
    """A small valid lesson: text in three languages, a shared cell, one exercise."""
    return [texts("Doubling.", "2 倍にします。", "두 배로 만듭니다."),
            code("y = 2 * torch.tensor(1.5)"),
            code(ANSWER, answer_meta()),
            code(TEST, graded_meta())]
