"""Match a submitted notebook back to its release version before nbgrader sees it.

Colab drops nbgrader's cell metadata (nbgrader issue 1273), students reorder, duplicate and delete
cells or change a cell's type (1398, 1941), and some files are not notebooks at all. nbgrader then
refuses the notebook or grades it wrongly. :func:`repair` rebuilds the notebook from the release:

- every cell of the release appears once, in the release's order, with the release's nbgrader
  metadata; test cells and read-only cells always come from the release (nbgrader's
  OverwriteCells then puts the hidden tests back from the gradebook);
- an answer cell takes the student's code: the cell with the same grade_id, or, when the metadata
  was lost, the cell defining the same function (or most similar to the stub); of duplicates, the
  one run last (highest execution count), else the last one;
- the student's other cells (their own scratch and helper cells, edited lesson cells) are kept,
  each after the cell it followed in the submission;
- outputs are dropped (nbgrader clears them anyway).

The submitted file itself is never touched: the result is written to ``repaired/``.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass, field

import nbformat
from nbgrader.utils import is_grade, is_locked, is_solution
from rapidfuzz import fuzz

from .messages import t

MATCH = 90       # fuzz.ratio at or above which a cell is the same cell
STUB_MATCH = 60  # an answer cell without its function name, still recognisably the stub edited
_DEF = re.compile(r"^[ \t]*def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.M)


@dataclass
class Repaired:
    """The outcome for one submitted notebook."""

    status: str                                     # ok | unreadable | wrong_notebook
    notebook: object | None = None                  # the notebook to grade (status ok)
    problem: str = ""                               # why it could not be graded (student-facing)
    repairs: list[str] = field(default_factory=list)  # what was changed (instructor-facing, English)
    notes: list[str] = field(default_factory=list)    # the same for the student, course language


def read_notebook(data: bytes, lang: str):
    """(notebook, None) or (None, student-facing reason)."""
    if not data.strip():
        return None, t("unreadable_empty", lang)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, t("unreadable_encoding", lang)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, t("unreadable_json", lang, detail=t("json_where", lang, line=exc.lineno, column=exc.colno))
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return None, t("unreadable_format", lang, detail=t("no_cell_list", lang))
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for malformed input
        return None, t("unreadable_format", lang, detail=type(exc).__name__)
    cells = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = cell.get("source", "")
        cell["source"] = "".join(source) if isinstance(source, list) else str(source)
        cells.append(cell)
    nb.cells = cells
    return nb, None


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def defined_functions(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set(_DEF.findall(source))
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _kind(cell) -> str:
    if is_solution(cell):
        return "answer"
    if is_grade(cell):
        return "test"
    if is_locked(cell):
        return "locked"
    return "plain"


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


class _Release:
    def __init__(self, nb):
        self.nb = nb
        self.cells = nb.cells
        self.kinds = [_kind(c) for c in self.cells]
        self.ids = {_grade_id(c): i for i, c in enumerate(self.cells) if _grade_id(c) and self.kinds[i] != "plain"}
        self.norms = [_norm(c.source) for c in self.cells]
        self.funcs = [defined_functions(c.source) if k == "answer" else set() for c, k in zip(self.cells, self.kinds, strict=True)]

    def match(self, cell, previous: int) -> tuple[int | None, bool]:
        """(release index, by metadata?) for one student cell; None if it is the student's own."""
        gid = _grade_id(cell)
        if gid in self.ids:
            i = self.ids[gid]
            if self.cells[i].cell_type == cell.cell_type or self.kinds[i] == "answer":
                return i, True
        norm = _norm(cell.source)
        if not norm:
            return None, False
        funcs = defined_functions(cell.source) if cell.cell_type == "code" or "def " in norm else set()
        best, best_score = None, 0.0
        for i, rcell in enumerate(self.cells):
            kind = self.kinds[i]
            if rcell.cell_type != cell.cell_type and not (kind == "answer" and funcs):
                continue
            if kind == "answer" and funcs & self.funcs[i]:
                score = 200.0
            else:
                score = fuzz.ratio(norm, self.norms[i]) if self.norms[i] else 0.0
                if score < (STUB_MATCH if kind == "answer" else MATCH):
                    continue
            score -= 0.01 * abs(i - previous - 1)  # between equals, the cell that keeps the order
            if score > best_score:
                best, best_score = i, score
        return best, False

    def exercise_matches(self, nb) -> int:
        """How many of this release's exercises the notebook contains, judged by content only
        (lessons reuse grade ids such as ex1_answer, so an id proves nothing): a test cell with
        the same visible source, or an answer cell defining the same function."""
        found = set()
        for cell in nb.cells:
            norm = _norm(cell.source)
            if not norm:
                continue
            funcs = defined_functions(cell.source) if "def " in norm else set()
            for i, kind in enumerate(self.kinds):
                if kind == "answer" and funcs & self.funcs[i]:
                    found.add(i)
                elif kind == "test" and self.norms[i] and fuzz.ratio(norm, self.norms[i]) >= MATCH:
                    found.add(i)
        return len(found)


def _pick(candidates: list[tuple[int, object]], stub_norm: str):
    """The answer the student meant: run last, else edited and last, else last."""
    counts = [(c.get("execution_count") or 0, pos) for pos, c in candidates]
    if any(count for count, _ in counts):
        return candidates[max(range(len(candidates)), key=lambda k: counts[k])][1]
    edited = [c for _, c in candidates if _norm(c.source) != stub_norm]
    return (edited or [c for _, c in candidates])[-1]


def _clean(cell, metadata=None):
    """A copy without outputs and without editor metadata (Colab's ids, widgets...)."""
    new = copy.deepcopy(cell)
    new.pop("id", None)
    new["metadata"] = copy.deepcopy(metadata) if metadata is not None else {}
    if new.cell_type == "code":
        new["outputs"] = []
        new["execution_count"] = None
    else:
        new.pop("outputs", None)
        new.pop("execution_count", None)
        new.pop("attachments", None) if new.cell_type != "markdown" else None
    return new


def repair(data: bytes, release_nb, lang: str, name: str, others: dict | None = None) -> Repaired:
    """Rebuild a submission (bytes of the submitted file) on ``release_nb``; see the module docstring.

    ``others``: the other assignments' release notebooks, to tell a student which notebook they sent.
    """
    nb, problem = read_notebook(data, lang)
    if nb is None:
        return Repaired("unreadable", problem=problem, repairs=["unreadable"])
    release = _Release(release_nb)
    if release.exercise_matches(nb) == 0 and any(k in ("answer", "test") for k in release.kinds):
        for other, other_nb in (others or {}).items():
            if _Release(other_nb).exercise_matches(nb) > 0:
                return Repaired("wrong_notebook", problem=t("wrong_notebook_other", lang, other=other, expected=name),
                                repairs=[f"wrong notebook: this is {other}"])
        return Repaired("wrong_notebook", problem=t("wrong_notebook", lang, expected=name),
                        repairs=["wrong notebook: no exercise of the assignment found"])

    chosen: dict[int, list[tuple[int, object]]] = {}
    extras: dict[int, list] = {}
    lost_metadata, order, previous = 0, [], -1
    for pos, cell in enumerate(nb.cells):
        i, by_id = release.match(cell, previous)
        if i is None:
            extras.setdefault(previous, []).append(cell)
            continue
        if not by_id and release.kinds[i] != "plain":
            lost_metadata += 1
        if i not in chosen:
            order.append(i)
        chosen.setdefault(i, []).append((pos, cell))
        previous = i

    result = Repaired("ok")
    if lost_metadata:
        result.repairs.append(f"metadata lost on {lost_metadata} cell(s), matched by content")
        result.notes.append(t("repair_metadata", lang, n=lost_metadata))
    if order != sorted(order):
        result.repairs.append("cells reordered")
        result.notes.append(t("repair_order", lang))

    cells, restored_tests = list(extras.get(-1, [])), 0
    cells = [_clean(c, c.get("metadata")) for c in cells]
    for i, rcell in enumerate(release.cells):
        kind, found = release.kinds[i], chosen.get(i, [])
        meta = rcell.get("metadata", {})
        if kind == "answer":
            label = _answer_label(release, i)
            if not found:
                cells.append(_clean(rcell, meta))
                result.repairs.append(f"answer {_grade_id(rcell)} missing: graded as not answered")
                result.notes.append(t("repair_answer_missing", lang, name=label))
            else:
                if len(found) > 1:
                    result.repairs.append(f"answer {_grade_id(rcell)} duplicated {len(found)}x")
                    result.notes.append(t("repair_duplicate", lang, name=label, n=len(found)))
                answer = _clean(_pick(found, release.norms[i]), meta)
                answer["cell_type"] = "code"
                answer.setdefault("outputs", [])
                answer.setdefault("execution_count", None)
                cells.append(answer)
        elif kind in ("test", "locked"):
            if not found or any(_norm(c.source) != release.norms[i] for _, c in found) or len(found) > 1:
                restored_tests += 1
            cells.append(_clean(rcell, meta))
        elif found:
            cells.extend(_clean(c, {k: v for k, v in c.get("metadata", {}).items() if k in ("tags",)})
                         for _, c in found)
        for extra in extras.get(i, []):
            cells.append(_clean(extra, {}))
    if restored_tests:
        result.repairs.append(f"{restored_tests} test/read-only cell(s) edited, duplicated or deleted: release version used")
        result.notes.append(t("repair_tests", lang, n=restored_tests))

    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(release_nb.metadata))
    out.nbformat, out.nbformat_minor = release_nb.nbformat, release_nb.nbformat_minor
    out.cells = cells
    if out.nbformat_minor >= 5:
        for k, cell in enumerate(out.cells):
            cell["id"] = f"cell-{k}"
    result.notebook = out
    return result


def _answer_label(release: _Release, i: int) -> str:
    funcs = sorted(release.funcs[i])
    return f"`{funcs[0]}`" if funcs else str(_grade_id(release.cells[i]))
