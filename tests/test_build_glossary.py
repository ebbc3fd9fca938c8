"""No lesson text in Japanese or Korean, and no text the build adds, uses a variant lessons/glossary.yml bans.

(gradcoach's and autograde's message catalogues are scanned by tests/test_catalogue.py.)
"""
from __future__ import annotations

import pytest

import coursebuild

from _build import LESSONS, ROOT
from _glossary import TRANSLATED, find_banned

LESSON_PATHS = coursebuild.find_lessons(LESSONS)


def language_text(lesson, lang):
    """(where, text) of everything a reader of the ``lang`` notebook reads that the lesson wrote for them."""
    yield "the title", lesson.titles[lang]
    for key, texts in lesson.strings.items():
        yield f"strings.{key}", texts.get(lang, "")
    for cell in lesson.cells:
        if cell.lang == lang:
            yield cell.where, cell.source


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.name for p in LESSON_PATHS])
def test_lesson_uses_no_banned_variant(path, lang):
    lesson = coursebuild.read_lesson(path)
    hits = [f"{where}: {hit}" for where, text in language_text(lesson, lang) for hit in find_banned(text, lang)]
    assert not hits, f"{path.relative_to(ROOT)} ({lang}):\n" + "\n".join(hits)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_texts_the_build_adds_use_no_banned_variant(lang):
    config = coursebuild.load_config()
    hits = [f"course.yml languages.{lang}.{key}: {hit}"
            for key, text in config.languages[lang].items() for hit in find_banned(text, lang)]
    assert not hits, "\n".join(hits)


def test_the_scan_reads_the_lessons_string_tables():
    """Labels and docstrings from a lesson's front-matter `strings` are read by students too."""
    lesson = coursebuild.read_lesson(LESSON_PATHS[0])
    lesson.strings = {"label": {"en": "target:", "ja": "目標値:", "ko": "목표값:"}}
    where = [where for where, text in language_text(lesson, "ko") if find_banned(text, "ko")]
    assert where == ["strings.label"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_scan_finds_a_banned_variant(lang):
    """The scan itself works: a sentence with a banned variant of "gradient" is caught."""
    sentence = {"ja": "グラディエントを計算します。", "ko": "변화도를 계산합니다."}[lang]
    assert find_banned(sentence, lang)
