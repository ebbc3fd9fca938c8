"""Message catalogues (one JSON file per language in ``locales/``) and the language setting.

The languages themselves are defined in the torch-free module :mod:`gradcoach_languages`.

Precedence: the ``GRADCOACH_LANG`` environment variable, then :func:`set_language` (each
notebook's setup cell calls it), then English.
"""
from __future__ import annotations

import json
import os
import warnings
from functools import lru_cache
from pathlib import Path

from gradcoach_languages import FALLBACK, LANGUAGES, english_name, normalise

_LOCALES = Path(__file__).with_name("locales")
_chosen: str | None = None
_warned_env: set[str] = set()


def _listing() -> str:
    """The languages offered, each under its own name: "en (English), ja (日本語), ko (한국어)"."""
    return ", ".join(f"{lang} ({catalogue(lang).get('_language') or english_name(lang)})" for lang in LANGUAGES)


def _normalise(code: str) -> str:
    """'ja_JP.UTF-8' → 'ja'; raise ValueError for a language we do not have."""
    short = normalise(code) if isinstance(code, str) else None
    if short is None:
        from .evaluate import usage_error  # evaluate imports this module
        raise usage_error("usage_language", code=repr(code), choices=_listing())
    return short


def set_language(code: str) -> str:
    """Choose the language of every message ('en', 'ja' or 'ko'); returns the one in effect."""
    global _chosen
    _chosen = _normalise(code)
    return language()


def language() -> str:
    """The language in effect: GRADCOACH_LANG if valid, else the one set, else English."""
    env = os.environ.get("GRADCOACH_LANG")
    if env:
        short = normalise(env)
        if short is not None:
            return short
        if env not in _warned_env:
            _warned_env.add(env)
            message = t("usage_language", lang=_chosen or FALLBACK, code=f"GRADCOACH_LANG={env!r}", choices=_listing())
            warnings.warn(joined(message, t("usage_language_ignored", lang=_chosen or FALLBACK),
                                 lang=_chosen or FALLBACK), stacklevel=2)
    return _chosen or FALLBACK


@lru_cache(maxsize=None)
def catalogue(code: str) -> dict[str, str]:
    """The messages of one language, read once from ``locales/<code>.json``."""
    with open(_LOCALES / f"{_normalise(code)}.json", encoding="utf-8") as fh:
        return json.load(fh)


def joined(first: str, then: str, lang: str | None = None) -> str:
    """Two sentences one after the other: a space between them, except after Japanese 。."""
    return t("sentence_join", lang=lang, first=first, then=then)


def t(key: str, /, lang: str | None = None, **values) -> str:
    """The message ``key`` in the current language, formatted with ``values``.

    A message missing from a translation falls back to English rather than failing a student's
    check (the catalogue test keeps that from happening in a release).
    """
    code = lang or language()
    template = catalogue(code).get(key) or catalogue(FALLBACK)[key]
    return template.format(**values)
