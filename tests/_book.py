"""Shared by the website tests (tests/test_book*.py): one `make book`-style build per test session."""
from __future__ import annotations

import functools
import subprocess
import sys

import coursebuild

from _build import LESSONS, ROOT

BOOK_TOOL = ROOT / "tools" / "build_book.py"
SITE = ROOT / "build" / "book"


def lesson_stems() -> list:
    return [path.stem for path in coursebuild.find_lessons(LESSONS)]


def build_book():
    """Build build/book/ as `make book` does (executing only what build/book-cache/ lacks); the site."""
    done = subprocess.run([sys.executable, str(BOOK_TOOL)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"tools/build_book.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return SITE


@functools.cache
def built_site():
    """The site, built once per session however many test modules ask for it."""
    return build_book()
