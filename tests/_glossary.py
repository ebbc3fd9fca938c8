"""lessons/glossary.yml for the tests: the chosen terms and a scan for banned variants."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "lessons" / "glossary.yml"
TRANSLATED = ("ja", "ko")


@lru_cache(maxsize=None)
def terms() -> dict[str, dict]:
    """The glossary's entries, keyed by term."""
    with open(GLOSSARY, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["terms"]


def banned(lang: str) -> dict[str, str]:
    """Every banned variant of ``lang`` → the term it stands for."""
    found = {}
    for key, entry in terms().items():
        for variant in (entry.get("banned") or {}).get(lang) or []:
            found[variant] = key
    return found


def find_banned(text: str, lang: str) -> list[str]:
    """One readable line per banned variant in ``text``: 'line N: 변화도 (use 기울기 for "gradient")'."""
    hits = []
    variants = banned(lang)
    for number, line in enumerate(text.splitlines(), 1):
        for variant, key in variants.items():
            if variant in line:
                hits.append(f'line {number}: {variant} (use {terms()[key][lang]} for "{key}")')
    return hits
