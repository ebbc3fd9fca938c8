"""gradcoach_languages.py is the one definition of the course's languages; the rest derives from it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gradcoach_languages as langs

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("given, expected", [
    ("ja", "ja"), ("KO", "ko"), ("ja_JP.UTF-8", "ja"), ("ko-KR", "ko"), (" en ", "en"), ("en_US.utf8", "en"),
    ("C.UTF-8", None), ("POSIX", None), ("", None), (None, None), ("fr_FR.UTF-8", None), (3, None),
])
def test_a_locale_or_code_is_read_as_a_course_language_or_none(given, expected):
    assert langs.normalise(given) == expected


def test_the_module_loads_without_torch():
    probe = "import sys, gradcoach_languages; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_gradcoach_the_build_and_the_grader_use_the_same_languages():
    import coursebuild
    import gradcoach
    from autograde import messages
    assert gradcoach.LANGUAGES == coursebuild.LANGUAGES == messages.LANGUAGES == langs.LANGUAGES
    assert langs.FALLBACK in langs.LANGUAGES


@pytest.mark.parametrize("given, expected", [("COURSE_LANG=ja", "--lang 'ja'"), ("LANG=ko", "--lang 'ko'"),
                                             ("COURSE_LANG=ja_JP.UTF-8", "--lang 'ja_JP.UTF-8'")])
def test_make_release_passes_the_language_given_on_its_command_line(given, expected):
    plan = subprocess.run(["make", "-n", "release", given], cwd=ROOT, capture_output=True, text=True).stdout
    assert expected in next(line for line in plan.splitlines() if "-m autograde" in line)


@pytest.mark.parametrize("locale", ["en_US.UTF-8", "ja_JP.UTF-8", "C.UTF-8"])
def test_make_release_never_reads_the_shells_locale(locale):
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_LANG", "LC_ALL")} | {"LANG": locale}
    plan = subprocess.run(["make", "-n", "release"], cwd=ROOT, capture_output=True, text=True, env=env).stdout
    assert "--lang" not in next(line for line in plan.splitlines() if "-m autograde" in line)


def test_release_refuses_an_unknown_language_and_normalises_a_locale_name(tmp_path):
    from autograde.__main__ import main

    assert main(["--course", str(tmp_path / "c"), "release", "--lang", "fr"]) == 2
    assert langs.normalise("ja_JP.UTF-8") == "ja"


def test_the_grading_command_line_never_reads_the_test_fixtures():
    for path in (ROOT / "autograde").rglob("*.py"):
        assert "fixtures" not in path.read_text(encoding="utf-8"), path
