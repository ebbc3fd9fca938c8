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

__all__ = ["LANGUAGES", "LOCALES", "catalogue", "labels", "t"]

LOCALES = Path(__file__).with_name("locales")


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language (an unknown one reads English), read once."""
    with open(LOCALES / f"{normalise(lang) or FALLBACK}.json", encoding="utf-8") as fh:
        return json.load(fh)


def t(key: str, lang: str, /, **values) -> str:
    """The message ``key`` in ``lang``, formatted with ``values`` (English where a translation lacks it)."""
    template = catalogue(lang).get(key) or catalogue(FALLBACK)[key]
    return template.format(**values)


def labels(lang: str) -> dict[str, str]:
    """The feedback template's labels (keys without the ``fb_`` prefix)."""
    return {key[3:]: t(key, lang) for key in catalogue(FALLBACK) if key.startswith("fb_")}
