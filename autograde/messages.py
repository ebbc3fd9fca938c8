"""What the grader tells students (feedback, error outputs) and instructors (the command line,
`make lab`, the class report), in the course language: one JSON catalogue per language in
``locales/``, as gradcoach's (tests/test_catalogue.py checks both the same way).

The report's columns stay in English (they are data: statuses, test names, scores).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from gradcoach_languages import FALLBACK, LANGUAGES, normalise

__all__ = ["LANGUAGES", "LOCALES", "Joined", "Text", "catalogue", "labels", "t"]

LOCALES = Path(__file__).with_name("locales")


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language (an unknown one reads English), read once."""
    with open(LOCALES / f"{normalise(lang) or FALLBACK}.json", encoding="utf-8") as fh:
        return json.load(fh)


def t(key: str, lang: str, /, **values) -> str:
    """The message ``key`` in ``lang``, formatted with ``values`` (English where a translation lacks it);
    a value that is itself a message (:class:`Text`, :class:`Joined`) is told in ``lang`` too."""
    template = catalogue(lang).get(key) or catalogue(FALLBACK)[key]
    return template.format(**{k: v.render(lang) if isinstance(v, Text | Joined) else v for k, v in values.items()})


class Text:
    """A message not told yet: its key and values, rendered in whatever language it is shown in
    (``str()``: English, for logs and ``str(exception)``)."""

    def __init__(self, key: str, /, **values):
        self.key, self.values = key, values

    def render(self, lang: str) -> str:
        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.render(FALLBACK)

    def __repr__(self) -> str:
        return f"Text({self.key!r}, **{self.values!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Text) and (self.key, self.values) == (other.key, other.values)

    __hash__ = None


class Joined:
    """Several messages shown as one, ``sep`` between them."""

    def __init__(self, sep: str, items):
        self.sep, self.items = sep, list(items)

    def render(self, lang: str) -> str:
        return self.sep.join(item.render(lang) if isinstance(item, Text | Joined) else str(item)
                             for item in self.items)

    def __str__(self) -> str:
        return self.render(FALLBACK)


def labels(lang: str) -> dict[str, str]:
    """The feedback template's labels (keys without the ``fb_`` prefix)."""
    return {key[3:]: t(key, lang) for key in catalogue(FALLBACK) if key.startswith("fb_")}
