"""Student-facing words inside shared code cells, written once per language in the lesson's front matter.

A code cell is shared by the three notebooks, but some of its words are read by the student: an
exercise's docstring (the specification), a printed label, a name passed to gradcoach. The lesson
lists them under ``course: strings:`` (``key: {en: …, ja: …, ko: …}``) and the code writes
``{{t:key}}`` where the words go, usually inside a string literal so that the cell still runs as it
stands; the build puts in the notebook's language.
"""
from __future__ import annotations

import re

from .config import LANGUAGES

MARKER = re.compile(r"\{\{t:([A-Za-z0-9_]*)\}\}")
KEY = re.compile(r"^[a-z0-9_]+$")
# A value goes into the code as it stands: one line, no markers. (The build also compiles each
# localised cell, so a quote that would end the literal is refused there, naming cell and language.)
FORBIDDEN = ("\n", "{{", "}}")


def check_table(table, add) -> dict:
    """The ``course.strings`` table, checked; ``add(problem)`` reports each broken entry."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        add("course.strings must map each key to {en: …, ja: …, ko: …}")
        return {}
    good = {}
    for key, texts in table.items():
        if not isinstance(key, str) or not KEY.match(key):
            add(f"course.strings: the key {key!r} must be lower-case letters, digits and _")
            continue
        if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
            add(f"course.strings.{key} must give exactly en, ja and ko")
            continue
        bad = [lang for lang in LANGUAGES if not isinstance(texts[lang], str) or not texts[lang].strip()]
        if bad:
            add(f"course.strings.{key} has no text for {', '.join(bad)}")
            continue
        unsafe = [(lang, f) for lang in LANGUAGES for f in FORBIDDEN if f in texts[lang]]
        if unsafe:
            lang, f = unsafe[0]
            add(f"course.strings.{key}.{lang} contains {f!r}; a text must be one line without {{{{ or }}}}")
            continue
        good[key] = {lang: texts[lang] for lang in LANGUAGES}
    return good


def keys_used(source: str) -> list:
    return MARKER.findall(source)


def localise(source: str, table: dict, lang: str) -> str:
    """``source`` with each ``{{t:key}}`` replaced by the key's ``lang`` text."""
    return MARKER.sub(lambda m: table[m.group(1)][lang], source)
