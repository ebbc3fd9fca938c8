"""The course's languages, defined once: codes, names, how a locale is read, the fallback.

Plain Python with no imports beyond the standard library, so that the lesson build, the grader and
the Makefile can use it without loading torch (``import gradcoach`` does). It ships in gradcoach's
distribution as a top-level module; see CONTRIBUTING.md, "Map of the code".

    python gradcoach_languages.py                  # en ja ko   (the Makefile's list)
    python gradcoach_languages.py ja_JP.UTF-8      # ja         (empty when not a course language)
"""
from __future__ import annotations

import sys

# code -> (name in English, name in the language itself); the order is the order of every listing.
_NAMES = {
    "en": ("English", "English"),
    "ja": ("Japanese", "日本語"),
    "ko": ("Korean", "한국어"),
}
LANGUAGES: tuple[str, ...] = tuple(_NAMES)
FALLBACK = "en"


def english_name(code: str) -> str:
    return _NAMES[code][0]


def native_name(code: str) -> str:
    return _NAMES[code][1]


def normalise(code: object) -> str | None:
    """'ja', 'KO', 'ja_JP.UTF-8', 'ko-KR' → the course language; anything else ('C.UTF-8', '', None) → None."""
    if not isinstance(code, str):
        return None
    short = code.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    return short if short in _NAMES else None


def listing() -> str:
    """'en (English), ja (Japanese), ko (Korean)', for messages that name the choices."""
    return ", ".join(f"{code} ({english_name(code)})" for code in LANGUAGES)


if __name__ == "__main__":
    print(" ".join(LANGUAGES) if len(sys.argv) < 2 else (normalise(sys.argv[1]) or ""))
