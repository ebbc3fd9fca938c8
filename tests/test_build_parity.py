"""The three languages of a lesson are the same exercise: same grade_ids, points, shared code, checksums and
checked formulas; and a build is byte-identical every time."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import coursebuild
from coursebuild.strings import localise

from _build import FIXTURE_LESSONS, LESSONS, ROOT

CONFIG = coursebuild.load_config()
LANGS = coursebuild.LANGUAGES
LESSON_PATHS = coursebuild.find_lessons(LESSONS) + coursebuild.find_lessons(FIXTURE_LESSONS)
_built: dict = {}


def built(path) -> dict:
    """``{(form, lang): notebook dict}`` of one lesson, built once per test session."""
    if path not in _built:
        outputs = coursebuild.build([path], CONFIG)
        _built[path] = {(form, lang): json.loads(outputs[coursebuild.notebook_path(form, lang, path.stem)])
                        for form in coursebuild.FORMS for lang in LANGS}
    return _built[path]


def lesson_ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def nbgrader_cells(nb):
    return [c for c in nb["cells"] if "nbgrader" in c["metadata"] and c["id"] != "course-setup"]


def source(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
@pytest.mark.parametrize("form", coursebuild.FORMS)
def test_same_grade_ids_points_and_roles_in_every_language(path, form):
    def summary(lang):
        return [(c["metadata"]["nbgrader"].get("grade_id"), c["metadata"]["nbgrader"].get("points"),
                 c["metadata"]["nbgrader"]["grade"], c["metadata"]["nbgrader"]["solution"],
                 c["metadata"]["nbgrader"]["locked"]) for c in nbgrader_cells(built(path)[form, lang])]
    assert summary("ja") == summary("en")
    assert summary("ko") == summary("en")


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
def test_shared_code_cells_are_identical_in_every_language(path):
    lesson = coursebuild.read_lesson(path)
    for lang in LANGS:
        shared = [localise(c.source, lesson.strings, lang) for c in lesson.cells if c.lang is None and c.cell_type == "code"]
        nb = built(path)["solutions", lang]
        in_all = [c for c in nb["cells"] if c["id"] != "course-setup"
                  and all(c["id"] in {d["id"] for d in built(path)["solutions", other]["cells"]} for other in LANGS)]
        assert [source(c) for c in in_all if c["cell_type"] == "code"] == shared, lang


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
def test_student_cells_differ_between_languages_only_in_the_stub_comment_and_the_string_table(path):
    strings = coursebuild.read_lesson(path).strings

    def normalised(lang):
        # each language's strings mapped back to the English ones (longest first): Japanese and Korean
        # text cannot be mistaken for code, as a short English string ("grad") could be
        stub_comment = CONFIG.text(lang, "code_stub").splitlines()[0]
        def in_english(text):
            for texts in sorted(strings.values(), key=lambda texts: -len(texts[lang])):
                text = text.replace(texts[lang], texts["en"])
            return text
        return {c["id"]: (in_english if lang != "en" else str)(source(c).replace(stub_comment, "<stub>"))
                for c in built(path)["notebooks", lang]["cells"] if c["cell_type"] == "code" and c["id"] != "course-setup"}
    en, ja, ko = (normalised(lang) for lang in LANGS)
    common = set(en) & set(ja) & set(ko)
    assert {i: en[i] for i in common} == {i: ja[i] for i in common} == {i: ko[i] for i in common}


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
def test_graded_cells_have_the_same_checksum_in_every_language(path):
    def graded(lang):
        return {c["metadata"]["nbgrader"]["grade_id"]: (source(c), c["metadata"]["nbgrader"]["checksum"])
                for c in nbgrader_cells(built(path)["notebooks", lang]) if c["metadata"]["nbgrader"]["grade"]}
    en, ja, ko = (graded(lang) for lang in LANGS)
    assert set(en) == set(ja) == set(ko)
    for gid, (text, checksum) in en.items():
        if text == ja[gid][0] == ko[gid][0]:  # a graded cell with per-language comments differs, rightly
            assert checksum == ja[gid][1] == ko[gid][1], gid


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
def test_the_same_formulas_are_checked_in_every_language(path):
    def labels(lang):
        return [label for c in built(path)["solutions", lang]["cells"] if c["cell_type"] == "markdown"
                for label in coursebuild.formula_labels(source(c))]
    assert labels("ja") == labels("en")
    assert labels("ko") == labels("en")


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lesson_ids(LESSON_PATHS))
def test_two_consecutive_builds_are_byte_identical(path):
    assert coursebuild.build([path], CONFIG) == coursebuild.build([path], CONFIG)


def test_a_build_in_another_process_is_byte_identical(tmp_path):
    """Another interpreter, another hash seed: same bytes (nothing depends on set order or randomness)."""
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_notebooks.py"), "--lessons-dir",
                    str(FIXTURE_LESSONS), "--out", str(tmp_path)], check=True, env=env, capture_output=True)
    here = coursebuild.build(coursebuild.find_lessons(FIXTURE_LESSONS), CONFIG)
    assert {rel: (tmp_path / rel).read_bytes() for rel in here} == here
