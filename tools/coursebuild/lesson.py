"""Read a lesson (jupytext MyST) and check the rules of CONTRIBUTING.md before anything is built."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
from jsonschema import ValidationError as SchemaError
from nbformat import NotebookNode
from nbgrader.nbgraderformat import ValidationError as NbgraderValidationError
from nbgrader.nbgraderformat.common import SchemaMismatchError
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from .comments import check_comments
from .config import LANGUAGES, ROOT
from .formulas import LABEL_PATTERN, display_formulas
from .markers import HIDDEN_MARKERS, replace_hidden
from .parity import check_groups, check_references
from .strings import check_table, keys_used, localise

ALLOWED_METADATA = ("lang", "nbgrader", "tags")
RESERVED_GRADE_IDS = ("course_setup",)  # the setup cell the build adds
# nbgrader looks for these words anywhere in a line (ClearSolutions; the hidden-test ones: markers.py).
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")


@dataclass(frozen=True)
class SourceCell:
    index: int  # position in the lesson file, from 0
    cell_type: str
    source: str
    lang: str | None  # None: shared by all languages (code cells; markdown such as a formula or figure)
    nbgrader: dict | None
    tags: tuple = ()

    @property
    def first_line(self) -> str:
        line = next((ln.strip() for ln in self.source.splitlines() if ln.strip()), "")
        return line if len(line) <= 60 else line[:57] + "..."

    @property
    def where(self) -> str:
        return f"cell #{self.index + 1} ({self.cell_type}, first line: {self.first_line!r})"

    @property
    def grade_id(self) -> str | None:
        return (self.nbgrader or {}).get("grade_id")

    @property
    def is_answer(self) -> bool:
        return bool(self.nbgrader and self.nbgrader.get("solution"))

    @property
    def is_test(self) -> bool:
        return bool(self.nbgrader and self.nbgrader.get("grade") and not self.nbgrader.get("solution"))


@dataclass
class Lesson:
    path: Path
    titles: dict
    cells: list
    strings: dict = field(default_factory=dict)  # course.strings: key -> {lang: text} for {{t:key}}

    @property
    def stem(self) -> str:
        return self.path.stem

    def cells_for(self, lang: str) -> list:
        """The cells of the ``lang`` notebook: shared code cells and that language's cells, in order."""
        return [c for c in self.cells if c.lang in (None, lang)]


@dataclass
class LessonError(Exception):
    """One or more broken rules in lesson files; each message names the lesson and the cell."""
    messages: list = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.messages)


def display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read_lesson(path: Path) -> Lesson:
    """Parse and check one lesson; raise :class:`LessonError` listing every broken rule."""
    path = Path(path)
    name = display_path(path)
    try:
        nb = jupytext.read(path, fmt="md:myst")
    except Exception as exc:  # jupytext raises many kinds for malformed text
        raise LessonError([f"{name}: cannot be read as a jupytext MyST notebook: {exc}"]) from None
    errors = _Errors(name)
    titles = _titles(nb.metadata, errors)
    course = nb.metadata.get("course") if isinstance(nb.metadata.get("course"), dict) else {}
    strings = check_table(course.get("strings"), errors.add)
    cells = [_source_cell(i, cell, errors) for i, cell in enumerate(nb.cells)]
    lesson = Lesson(path=path, titles=titles, cells=cells, strings=strings)
    _check_strings(lesson, course.get("strings"), errors)
    check_comments(lesson, errors.add)
    if not errors:
        groups = _check_language_groups(lesson, errors)
        check_groups(groups, errors.add)
        check_references(lesson, LANGUAGES, errors.add)
        _check_exercises(lesson, errors)
    if errors:
        raise LessonError(errors.messages)
    return lesson


class _Errors:
    def __init__(self, name: str):
        self.name = name
        self.messages: list[str] = []

    def add(self, problem: str, cell: SourceCell | None = None) -> None:
        message = f"{self.name}: {cell.where}: {problem}" if cell else f"{self.name}: {problem}"
        if message not in self.messages:
            self.messages.append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)


def _titles(metadata: dict, errors: _Errors) -> dict:
    titles = (metadata.get("course") or {}).get("title") if isinstance(metadata.get("course"), dict) else None
    if not isinstance(titles, dict):
        errors.add("the front matter needs course: title: {en: …, ja: …, ko: …}")
        return {}
    for lang in LANGUAGES:
        if not isinstance(titles.get(lang), str) or not titles[lang].strip():
            errors.add(f"the front matter has no course.title.{lang}")
    language = (metadata.get("kernelspec") or {}).get("language", "python")
    if language != "python":
        errors.add(f"kernelspec.language is {language!r}; the course notebooks are Python")
    return {lang: str(titles.get(lang, "")).strip() for lang in LANGUAGES}


def _source_cell(index: int, cell: NotebookNode, errors: _Errors) -> SourceCell:
    meta = dict(cell.metadata)
    tags = meta.get("tags") or ()
    made = SourceCell(index, cell.cell_type, cell.source, meta.get("lang"), meta.get("nbgrader"),
                      tuple(tags) if isinstance(tags, list) else ())
    unknown = sorted(set(meta) - set(ALLOWED_METADATA))
    if unknown:
        errors.add(f"unknown cell metadata {', '.join(map(repr, unknown))} "
                   f"(a lesson cell may carry only {', '.join(ALLOWED_METADATA)})", made)
    if not isinstance(meta.get("tags", []), list):
        errors.add("'tags' must be a list", made)
    if cell.cell_type == "raw":
        errors.add("raw cells are not used in lessons; write a markdown or a code cell", made)
    if made.lang is not None and made.lang not in LANGUAGES:
        errors.add(f'unknown "lang" {made.lang!r}; use one of {", ".join(LANGUAGES)}', made)
    if made.nbgrader is not None:
        _check_nbgrader(made, errors)
    _check_markers(made, errors)
    _check_passed_line(made, errors)
    if cell.cell_type == "markdown":
        _check_formulas(made, errors)
    return made


def _check_nbgrader(cell: SourceCell, errors: _Errors) -> None:
    meta = cell.nbgrader
    if not isinstance(meta, dict):
        errors.add("'nbgrader' metadata must be a mapping", cell)
        return
    generated = sorted({"checksum", "cell_type"} & set(meta))
    if generated:
        errors.add(f"nbgrader {', '.join(generated)} is computed by the build; remove it from the lesson", cell)
    node = NotebookNode(cell_type=cell.cell_type, source=cell.source,
                        metadata=NotebookNode(nbgrader=NotebookNode(copy.deepcopy(meta))))
    try:
        MetadataValidatorV3().validate_cell(node)
    except SchemaMismatchError as exc:
        errors.add(f"nbgrader metadata: {exc} (write schema_version: 3)", cell)
    except SchemaError as exc:
        where = ".".join(map(str, exc.absolute_path))
        errors.add(f"nbgrader metadata is not valid for schema v3: {(where + ': ') if where else ''}{exc.message}", cell)
    except NbgraderValidationError as exc:
        errors.add(f"nbgrader metadata is not valid for schema v3: {str(exc).splitlines()[0]}", cell)
    if meta.get("grade_id") in RESERVED_GRADE_IDS:
        errors.add(f"grade_id {meta['grade_id']!r} is reserved for the setup cell the build adds", cell)


def _check_markers(cell: SourceCell, errors: _Errors) -> None:
    meta = cell.nbgrader if isinstance(cell.nbgrader, dict) else {}
    if meta.get("solution") and cell.cell_type == "code" and SOLUTION_MARKERS[0] not in cell.source:
        errors.add("this answer cell has no ### BEGIN SOLUTION … ### END SOLUTION; the student form would "
                   "replace the whole cell (the function's def included) with the stub", cell)
    for (begin, end), allowed, kind in ((SOLUTION_MARKERS, meta.get("solution"), "solution: true"),
                                        (HIDDEN_MARKERS, meta.get("grade"), "grade: true")):
        lines = cell.source.splitlines()
        if not any(begin in ln or end in ln for ln in lines):
            continue
        if not allowed:
            errors.add(f"### {begin} appears outside a cell with nbgrader {kind}; "
                       f"nbgrader would leak or reject it", cell)
            continue
        open_ = False
        for ln in lines:
            if begin in ln:
                if open_:
                    errors.add(f"### {begin} inside another {begin} region", cell)
                open_ = True
            elif end in ln:
                if not open_:
                    errors.add(f"### {end} without a ### {begin} before it", cell)
                open_ = False
        if open_:
            errors.add(f"### {begin} is never closed by ### {end}", cell)


PASSED_LINE = "gc.passed()"


def _check_passed_line(cell: SourceCell, errors: _Errors) -> None:
    """A test cell's student form ends with gc.passed(): its checks raise only on failure, so without
    it a passing cell would show the student nothing."""
    meta = cell.nbgrader if isinstance(cell.nbgrader, dict) else {}
    if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
        return
    visible = [ln.strip() for ln in replace_hidden(cell.source).split("\n") if ln.strip()]
    if not visible or visible[-1] != PASSED_LINE:
        errors.add(f"this test cell's visible part must end with {PASSED_LINE} (just before the hidden tests), "
                   "so that a student whose answer passes sees it", cell)


def _check_formulas(cell: SourceCell, errors: _Errors) -> None:
    try:
        formulas = display_formulas(cell.source)
    except ValueError as exc:
        errors.add(str(exc), cell)
        return
    for formula in formulas:
        if formula.label is None:
            tex = " ".join(formula.tex.split())
            errors.add(f"the display formula $${tex[:40]}$$ is not followed by <!-- check: some-label --> "
                       f"(label: {LABEL_PATTERN}); a code cell must check it", cell)


def _check_strings(lesson: Lesson, table, errors: _Errors) -> None:
    """Every {{t:key}} names an entry of course.strings, only code cells use them, every entry is used."""
    used = set()
    for cell in lesson.cells:
        keys = keys_used(cell.source)
        if keys and cell.cell_type != "code":
            errors.add("{{t:…}} is for code cells; a text cell is written in each language already", cell)
            continue
        for key in keys:
            used.add(key)
            if key not in lesson.strings and not (isinstance(table, dict) and key in table):
                errors.add(f"{{{{t:{key}}}}} has no entry in the front matter's course.strings", cell)
        if keys and all(key in lesson.strings for key in keys) and _compiles(cell.source):
            for lang in LANGUAGES:
                if not _compiles(localise(cell.source, lesson.strings, lang)):
                    errors.add(f"{lang}: with the course.strings texts put in, this cell is no longer valid "
                               f"Python (a quote in a text ends its string literal?)", cell)
    for key in lesson.strings:
        if key not in used:
            errors.add(f"course.strings.{key} is never used by a code cell ({{{{t:{key}}}}}); remove it")


def _compiles(source: str) -> bool:
    try:
        compile(source, "<cell>", "exec")
    except SyntaxError:
        return False
    return True


def _check_language_groups(lesson: Lesson, errors: _Errors) -> list:
    """Consecutive cells with ``lang`` form groups in the order en, ja, ko; each group has all three.

    Returns the groups (lists of cells).
    """
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    groups, current = [], []
    for cell in lesson.cells + [None]:
        if cell is not None and cell.lang is not None and (not current or order[cell.lang] >= order[current[-1].lang]):
            current.append(cell)
            continue
        if current:
            groups.append(current)
        current = [cell] if cell is not None and cell.lang is not None else []
    for group in groups:
        missing = [lang for lang in LANGUAGES if lang not in {c.lang for c in group}]
        if missing:
            present = ", ".join(dict.fromkeys(c.lang for c in group))
            errors.add(f"this text is in {present} but has no {', '.join(missing)} version right after it "
                       f"(each piece of text appears in en, ja, ko, in that order)", group[0])
    return groups


def _check_exercises(lesson: Lesson, errors: _Errors) -> None:
    per_lang = {}
    for lang in LANGUAGES:
        cells = lesson.cells_for(lang)
        seen = {}
        pending = None
        for cell in cells:
            gid = cell.grade_id
            if gid is not None and (cell.nbgrader.get("grade") or cell.nbgrader.get("solution")
                                    or cell.nbgrader.get("locked")):
                if gid in seen:
                    errors.add(f"grade_id {gid!r} is used twice (also by {seen[gid].where})", cell)
                seen.setdefault(gid, cell)
            if cell.is_answer:
                if pending is not None:
                    _missing_test(pending, errors)
                pending = cell
            elif cell.is_test:
                pending = None
        if pending is not None:
            _missing_test(pending, errors)
        per_lang[lang] = seen
    everywhere = {gid: [lang for lang in LANGUAGES if gid in per_lang[lang]]
                  for lang in LANGUAGES for gid in per_lang[lang]}
    for gid, langs in everywhere.items():
        first = per_lang[langs[0]][gid]
        if len(langs) != len(LANGUAGES):
            missing = [lang for lang in LANGUAGES if lang not in langs]
            errors.add(f"grade_id {gid!r} exists in {', '.join(langs)} but not in {', '.join(missing)}; "
                       f"a graded cell with \"lang\" must exist once per language", first)
            continue
        for lang in langs[1:]:
            other = per_lang[lang][gid]
            if other.nbgrader != first.nbgrader or other.cell_type != first.cell_type:
                errors.add(f"the nbgrader metadata of {gid!r} differs between languages "
                           f"({langs[0]}: {first.nbgrader}, {lang}: {other.nbgrader})", other)


def _missing_test(answer: SourceCell, errors: _Errors) -> None:
    errors.add("this answer cell (nbgrader solution: true) is not followed by a test cell "
               "(grade: true, solution: false, with points) before the next answer cell or the end", answer)
