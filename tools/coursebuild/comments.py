"""Comments in shared code cells are read in every notebook, so they are written once per language too.

A code cell without ``lang`` goes unchanged into the en, ja and ko notebooks; an English ``# …``
comment in it is English for the Japanese and Korean students. Such a comment is written
``# {{t:cmt_…}}`` with its texts in the lesson's ``course: strings:`` table (strings.py), or the cell
gets ``lang`` and exists once per language. The build refuses a comment with English words in the
part of a shared code cell that a notebook shows: everything but the hidden tests (the instructor's
notebook shows the solution code as well). Allowed as they are: comments with no words (``# ---``,
``# (3, 4)``, a single-letter name such as ``# x``), tool pragmas (``# noqa``, ``# type: ignore``,
``# fmt: off``) and nbgrader's markers (``### BEGIN SOLUTION``, ``# YOUR CODE HERE``).
"""
from __future__ import annotations

import io
import re
import tokenize

from .markers import HIDDEN_MARKERS, hidden_regions
from .strings import MARKER

# Two Latin letters in a row: a word. A lone letter is a variable's name (x, h, v), the same in every language.
WORD = re.compile(r"[A-Za-z]{2,}")
PRAGMA = re.compile(r"^#+\s*(noqa\b|type:|fmt:)")
NBGRADER_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", *HIDDEN_MARKERS, "YOUR CODE HERE")


def comments(source: str) -> list[tuple[int, str]]:
    """(line number from 1, comment text with its ``#``) of each comment of a code cell."""
    lines = source.split("\n")
    # IPython's magics and shell escapes (%timeit, !pip) are not Python: blank them, keeping the line numbers.
    python = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
    try:
        return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(python).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        # Not valid Python (the execution check names the cell): at least the whole-line comments.
        return [(k, ln.strip()) for k, ln in enumerate(lines, start=1) if ln.lstrip().startswith("#")]


def english_comment(comment: str) -> bool:
    """Whether ``comment`` has words that a marker, a pragma or an nbgrader marker does not explain."""
    if PRAGMA.match(comment) or any(marker in comment for marker in NBGRADER_MARKERS):
        return False
    return bool(WORD.search(MARKER.sub("", comment)))


def check_comments(lesson, add) -> None:
    """``add(problem, cell)`` for each English comment a notebook shows in a shared code cell of ``lesson``."""
    for cell in lesson.cells:
        if cell.cell_type != "code" or cell.lang is not None:
            continue
        hidden = {k + 1 for first, last in hidden_regions(cell.source) for k in range(first, last + 1)}
        for number, comment in comments(cell.source):
            if number in hidden or not english_comment(comment):
                continue
            add(f"line {number} has the comment {comment!r}, which the ja and ko notebooks would show in "
                f"English; write it as # {{{{t:cmt_…}}}} with en, ja and ko texts in the front matter's "
                f"course.strings (or give the cell \"lang\")", cell)
