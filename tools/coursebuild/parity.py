"""The languages of a lesson say the same thing: headings, display formulas, code spans, links, images,
and numbered references to sections that exist.

A *group* is one piece of text in its three languages (the consecutive en, ja, ko cells that
lesson.py's language check accepts). Within a group the ja and ko cells must have the en cells'
headings (number, level, order), display formulas (after emptying ``\\text{…}``, whose words are
translated), and the same inline code spans, links and images (in any order). Markdown cells without
``lang`` are shared, so they need no comparison; their headings count as sections.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .formulas import display_formulas

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_DISPLAY = re.compile(r"(?<!\\)\$\$.*?(?<!\\)\$\$", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$", re.M)
# "## 3. Title" or "### 2.1 Title" (not "### 2 回…", a count).
_NUMBER = re.compile(r"^(\d+(?:\.\d+)+|\d+(?=\.))")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*([^)\s]+)[^)]*\)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*([^)\s]+)[^)]*\)")
_TEXT_COMMAND = re.compile(r"\\(?:text|textrm|textit|textbf|mathrm|operatorname)\s*\{")
_NUM = r"(\d+(?:\.\d+)*)"
# A numbered reference, optionally after a lesson number ("lesson 01, section 6", 「レッスン 01 の第 6 節」,
# "01강의 6절"): group 1 the lesson, group 2 the section.
_LESSON_PREFIX = {
    "en": r"(?:[Ll]esson\s+(\d+),?\s+)?",
    "ja": r"(?:レッスン\s*(\d+)\s*の\s*)?",
    "ko": r"(?:(\d+)\s*강\s*의?\s*)?",
}
_SECTION = {
    "en": rf"\b(?:[Ss]ections?|§)\s*{_NUM}",
    "ja": rf"(?:第\s*{_NUM}\s*節|§\s*{_NUM})",
    "ko": rf"(?<![\d.]){_NUM}\s?절(?![댓대])|§\s*{_NUM}",
}
_REFERENCE = {lang: re.compile(_LESSON_PREFIX[lang] + "(?:" + _SECTION[lang] + ")") for lang in _SECTION}
_RAW_HEADING_NUMBER = re.compile(r"^#{1,6}[ \t]+(\d+(?:\.\d+)+|\d+(?=\.))", re.M)


def prose(markdown: str) -> str:
    """The markdown without fenced code blocks."""
    return _FENCE.sub("", markdown)


def headings(markdown: str) -> list:
    """``(level, number or None, text)`` of each heading outside code fences."""
    found = []
    for match in _HEADING.finditer(prose(markdown)):
        text = match.group(2)
        number = _NUMBER.match(text)
        found.append((len(match.group(1)), number.group(1) if number else None, text))
    return found


def normalise_formula(tex: str) -> str:
    """The formula with the contents of ``\\text{…}`` (and similar) emptied and whitespace removed."""
    out, pos = [], 0
    for match in _TEXT_COMMAND.finditer(tex):
        if match.start() < pos:
            continue
        out.append(tex[pos:match.end()])
        depth, i = 1, match.end()
        while i < len(tex) and depth:
            depth += {"{": 1, "}": -1}.get(tex[i], 0) if tex[i - 1] != "\\" else 0
            i += 1
        out.append("}")
        pos = i
    out.append(tex[pos:])
    return re.sub(r"\s+", "", "".join(out))


def _inline(markdown: str) -> str:
    return _DISPLAY.sub(" ", prose(markdown))


def code_spans(markdown: str) -> Counter:
    return Counter(" ".join(m.group(2).split()) for m in _CODE_SPAN.finditer(_inline(markdown)))


def _without_code(markdown: str) -> str:
    return _CODE_SPAN.sub(" ", _inline(markdown))


def links(markdown: str) -> Counter:
    return Counter(_LINK.findall(_without_code(markdown)))


def images(markdown: str) -> Counter:
    return Counter(_IMAGE.findall(_without_code(markdown)))


def references(markdown: str, lang: str) -> list:
    """``(lesson number or None, section number, matched text)`` of each numbered section reference."""
    found = []
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", _without_code(markdown))
    for match in _REFERENCE[lang].finditer(text):
        section = next(g for g in match.groups()[1:] if g is not None)
        found.append((match.group(1), section, match.group(0)))
    return found


def _describe(counter: Counter) -> str:
    return ", ".join(f"{item!r}" + (f" ×{n}" if n > 1 else "") for item, n in sorted(counter.items()))


def check_groups(groups: list, add) -> None:
    """Compare the ja and ko cells of each group with its en cells; ``add(problem, cell)`` reports."""
    for group in groups:
        by_lang = {}
        for cell in group:
            if cell.cell_type == "markdown":
                by_lang.setdefault(cell.lang, []).append(cell)
        if "en" not in by_lang:
            continue
        en = "\n\n".join(c.source for c in by_lang["en"])
        for lang, cells in by_lang.items():
            if lang == "en":
                continue
            text = "\n\n".join(c.source for c in cells)
            _compare(en, text, lang, cells[0], add)


def _compare(en: str, other: str, lang: str, cell, add) -> None:
    want = [(level, number) for level, number, _ in headings(en)]
    got = [(level, number) for level, number, _ in headings(other)]
    if want != got:
        def show(items):
            return ", ".join(("#" * level) + (f" {number}" if number else "") for level, number in items) or "none"
        add(f"{lang}: the headings ({show(got)}) differ from the en headings ({show(want)}) in number, "
            f"level or order", cell)
    try:
        want_tex = [normalise_formula(f.tex) for f in display_formulas(en)]
        got_tex = [normalise_formula(f.tex) for f in display_formulas(other)]
    except ValueError:
        want_tex = got_tex = []  # reported by the formula check
    if want_tex != got_tex:
        diff = next(((w, g) for w, g in zip(want_tex, got_tex) if w != g), None)
        detail = (f"$${diff[1][:60]}$$ where en has $${diff[0][:60]}$$" if diff
                  else f"{len(got_tex)} display formulas where en has {len(want_tex)}")
        add(f"{lang}: display formulas differ from the en ones (\\text{{…}} aside): {detail}", cell)
    for kind, extract in (("inline code spans", code_spans), ("links", links), ("images", images)):
        want_items, got_items = extract(en), extract(other)
        if want_items != got_items:
            missing, extra = want_items - got_items, got_items - want_items
            parts = ([f"lacks {_describe(missing)}"] if missing else []) + ([f"adds {_describe(extra)}"] if extra else [])
            add(f"{lang}: the {kind} differ from the en ones: {lang} {' and '.join(parts)}", cell)


def section_numbers(cells: list) -> set:
    """The numbers of the numbered headings (``## 3.``, ``### 2.1``) in ``cells``."""
    return {number for cell in cells if cell.cell_type == "markdown"
            for _, number, _ in headings(cell.source) if number}


def _other_lesson_sections(lessons_dir: Path, number: str) -> set | None:
    paths = sorted(Path(lessons_dir).glob(f"{int(number):02d}_*.md"))
    if not paths:
        return None
    return set(_RAW_HEADING_NUMBER.findall(prose(paths[0].read_text(encoding="utf-8"))))


def check_references(lesson, languages, add) -> None:
    """Every "section N" / 「第 N 節」 / "N절" names a numbered heading of the lesson it refers to."""
    own_number = lesson.stem.split("_", 1)[0]
    for lang in languages:
        cells = lesson.cells_for(lang)
        own = section_numbers(cells)
        for cell in cells:
            if cell.cell_type != "markdown":
                continue
            for other, section, text in references(cell.source, lang):
                if other is None or int(other) == int(own_number):
                    sections, where = own, "this lesson"
                else:
                    sections, where = _other_lesson_sections(lesson.path.parent, other), f"lesson {other}"
                    if sections is None:
                        add(f"{lang}: {text!r} refers to lesson {other}, which does not exist", cell)
                        continue
                if section not in sections:
                    add(f"{lang}: {text!r} refers to section {section}, but {where} has no heading "
                        f"numbered {section}", cell)
