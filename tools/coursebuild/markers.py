"""The hidden-test markers, defined once for the build (lesson checks, the student form) and the
grader's feedback sanitizer (autograde/feedback.py).

The rule is nbgrader's own (``ClearHiddenTests``, whose default delimiters these are): a line that
*contains* ``BEGIN HIDDEN TESTS`` opens a hidden region and a line that contains
``END HIDDEN TESTS`` closes it, whatever comes before or after on the line (``### BEGIN HIDDEN
TESTS``, ``# BEGIN HIDDEN TESTS``, indented, ``#BEGIN HIDDEN TESTS ###``). The match is
case-sensitive, as nbgrader's is: ``# begin hidden tests`` hides nothing.
"""
from __future__ import annotations

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
HIDDEN_MARKERS = (HIDDEN_BEGIN, HIDDEN_END)


def hidden_regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line indices of each hidden region, marker lines included; an unclosed
    region runs to the end (nbgrader refuses it; the feedback still hides it)."""
    regions, start = [], None
    lines = source.split("\n")
    for k, line in enumerate(lines):
        if HIDDEN_BEGIN in line and start is None:
            start = k
        elif HIDDEN_END in line and start is not None:
            regions.append((start, k))
            start = None
    if start is not None:
        regions.append((start, len(lines) - 1))
    return regions


def hidden_lines(source: str) -> list[str]:
    """The lines inside the hidden regions (markers excluded)."""
    lines = source.split("\n")
    return [line for first, last in hidden_regions(source) for line in lines[first + 1:last + 1]
            if HIDDEN_END not in line]


def replace_hidden(source: str, note: str | None = None) -> str:
    """``source`` with each hidden region (markers included) removed, or replaced by ``note``
    (one line, indented like the region's first marker)."""
    lines = source.split("\n")
    out, k = [], 0
    for first, last in hidden_regions(source):
        out += lines[k:first]
        if note is not None:
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            out.append(indent + note)
        k = last + 1
    out += lines[k:]
    return "\n".join(out)
