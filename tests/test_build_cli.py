"""tools/build_notebooks.py: writes only what changed, --check reports stale files, --lesson and --out,
exit status 2 and nothing written when a lesson is refused."""
from __future__ import annotations

import shutil

import pytest

from gradcoach_languages import LANGUAGES

from _build import FIXTURE_LESSONS, ROOT, good_cells, markdown, write_lesson
from _tools import load_tool

build_notebooks = load_tool("build_notebooks")

LANGS = LANGUAGES


def run(*args) -> int:
    return build_notebooks.main([str(a) for a in args])


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "out"
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", out) == 0
    return out


def test_build_writes_both_forms_in_every_language(built):
    expected = {f"{form}/{lang}/01_cube.ipynb" for form in ("solutions", "notebooks") for lang in LANGS}
    assert set(tree(built)) == expected


def test_second_build_changes_nothing_and_leaves_files_untouched(built, capsys):
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*.ipynb")}
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", built) == 0
    assert "6 notebooks built, 0 changed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*.ipynb")} == before


def test_check_passes_when_up_to_date(built, capsys):
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", built, "--check") == 0
    assert "up to date" in capsys.readouterr().out


def test_check_reports_each_stale_file_and_writes_nothing(built, capsys):
    edited = built / "notebooks" / "ja" / "01_cube.ipynb"
    edited.write_bytes(edited.read_bytes().replace("練習問題".encode(), b"Exercise"))
    (built / "solutions" / "ko" / "01_cube.ipynb").unlink()
    shutil.copy(built / "notebooks" / "en" / "01_cube.ipynb", built / "notebooks" / "en" / "09_gone.ipynb")
    before = tree(built)
    capsys.readouterr()
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", built, "--check") == 1
    out = capsys.readouterr().out
    assert "stale: notebooks/ja/01_cube.ipynb (out of date)" in out
    assert "stale: solutions/ko/01_cube.ipynb (missing)" in out
    assert "stale: notebooks/en/09_gone.ipynb (no lesson builds it)" in out
    assert tree(built) == before
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", built) == 0
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", built, "--check") == 0
    assert not (built / "notebooks" / "en" / "09_gone.ipynb").exists()


def test_lesson_option_builds_one_lesson_and_keeps_the_others(tmp_path, built):
    lessons = tmp_path / "lessons"
    shutil.copytree(FIXTURE_LESSONS, lessons)
    write_lesson(lessons, *good_cells(), name="02_tiny.md")
    assert run("--lessons-dir", lessons, "--out", built, "--lesson", "02") == 0
    assert (built / "notebooks" / "ko" / "02_tiny.ipynb").exists()
    assert (built / "notebooks" / "ko" / "01_cube.ipynb").exists()
    assert run("--lessons-dir", lessons, "--out", built, "--lesson", "02_tiny", "--check") == 0


def test_unknown_lesson_number_is_refused(capsys, tmp_path):
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", tmp_path, "--lesson", "42") == 2
    assert "no lesson '42'" in capsys.readouterr().err


def test_refused_lesson_exits_2_and_writes_nothing(tmp_path, built, capsys):
    lessons = tmp_path / "lessons"
    shutil.copytree(FIXTURE_LESSONS, lessons)
    (lessons / "01_cube.md").write_text((FIXTURE_LESSONS / "01_cube.md").read_text(encoding="utf-8")
                                        .replace("## 1. One backward call", "## 1. One backward call, changed"),
                                        encoding="utf-8")
    write_lesson(lessons, markdown("fr", "Texte sans langue connue"), *good_cells(), name="02_broken.md")
    before = tree(built)
    assert run("--lessons-dir", lessons, "--out", built) == 2
    err = capsys.readouterr().err
    assert "02_broken.md: cell #1 (markdown, first line: 'Texte sans langue connue')" in err
    assert "nothing was written" in err
    assert tree(built) == before  # the valid, changed lesson 01 was not written either
    assert not list(built.glob(".build-notebooks-*"))


def test_broken_course_config_is_refused(tmp_path, capsys):
    config = tmp_path / "course.yml"
    config.write_text((ROOT / "lessons" / "course.yml").read_text(encoding="utf-8")
                      .replace("repository: autograd-course/autograd-course", "repository: not a repo"),
                      encoding="utf-8")
    assert run("--lessons-dir", FIXTURE_LESSONS, "--out", tmp_path / "out", "--config", config) == 2
    assert "'repository' must look like owner/name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
