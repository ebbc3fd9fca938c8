"""``python -m autograde doctor``: what it checks (the sandbox, the limits, the course) and what it
says, every line in the language the other commands explain errors in (--lang, else the course's)."""
from __future__ import annotations

import json
import re

import pytest

import autograde.__main__ as cli
from autograde.messages import Text, t

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
KOREAN = re.compile(r"[\uac00-\ud7af]")
# three English words in a row, outside code spans: a sentence left untranslated
ENGLISH_WORDS = re.compile(r"\b[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}\b")


def _course(tmp_path, **settings):
    (tmp_path / "autograde.json").write_text(json.dumps({"lang": "ja", **settings}))
    return tmp_path


def _doctor(capsys, *argv) -> tuple[int, list[str]]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, [line for line in out.out.splitlines() if line.strip()]


def _untranslated(lines: list[str], script: re.Pattern) -> list[str]:
    return [line for line in lines
            if not script.search(line) or ENGLISH_WORDS.search(re.sub(r"`[^`]*`", "", line))]


@pytest.fixture
def sandbox_works(monkeypatch):
    monkeypatch.setattr(cli, "probe", lambda: None)


def test_doctor_answers_in_the_courses_language(tmp_path, capsys, sandbox_works):
    code, lines = _doctor(capsys, "--course", str(_course(tmp_path)), "doctor")
    assert code == 0
    assert lines[0].startswith("サンドボックス：") and lines[-1] == t("dr_ready", "ja")
    assert t("dr_course", "ja", root=tmp_path, lang="ja", n=0) in lines
    assert not _untranslated(lines, JAPANESE), lines


def test_doctor_answers_in_the_language_asked_for(tmp_path, capsys, sandbox_works):
    code, lines = _doctor(capsys, "--course", str(_course(tmp_path)), "doctor", "--lang", "ko")
    assert code == 0 and lines[-1] == t("dr_ready", "ko")
    assert not _untranslated(lines, KOREAN), lines


def test_doctor_answers_in_english_where_there_is_no_course(tmp_path, capsys, sandbox_works):
    code, lines = _doctor(capsys, "--course", str(tmp_path / "none"), "doctor")
    assert code == 0
    assert lines[1].startswith("limits per kernel (defaults): memory_mb=2048, processes=64")
    assert lines[2] == t("dr_no_course", "en", root=tmp_path / "none") and lines[3] == "Ready to grade."


def test_doctor_without_bwrap_says_why_and_what_to_do_in_japanese(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "probe", lambda: Text("sb_no_bwrap"))
    code, lines = _doctor(capsys, "--course", str(_course(tmp_path)), "doctor")
    assert code == 1
    assert lines[0] == "サンドボックス：動作しません。bwrap（bubblewrap）がインストールされていません"
    assert t("dr_not_ready", "ja") in lines
    assert "  " + t("sb_hint_install", "ja") in lines and "  " + t("sb_hint_unsafe", "ja") in lines
    assert not _untranslated(lines, JAPANESE), lines


def test_doctor_reports_wrong_settings_in_the_language_they_name(tmp_path, capsys, sandbox_works):
    code, lines = _doctor(capsys, "--course", str(_course(tmp_path, limits={"memory_mb": "2048"})), "doctor")
    assert code == 1
    said = "\n".join(lines)
    assert "limits.memory_mb の値は整数でなければなりません。実際は '2048' です" in said
    assert lines[-1] == "  " + t("dr_fix_course", "ja")
    assert not _untranslated(lines, JAPANESE), lines


def test_doctor_runs_the_real_sandbox_check(tmp_path, capsys):
    """Not mocked: on this machine the sandbox works (the line says how) or the line says why not."""
    from autograde.sandbox import probe

    code, lines = _doctor(capsys, "--course", str(_course(tmp_path)), "doctor")
    problem = probe()
    if problem is None:
        assert code == 0 and lines[0].startswith("サンドボックス：正常に動作し")
    else:
        assert code == 1 and lines[0] == t("dr_sandbox_failed", "ja", problem=problem)


def test_doctor_where_the_sandbox_reaches_the_network_does_not_advise_installing_bwrap(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "probe", lambda: Text("sb_network"))
    code, lines = _doctor(capsys, "--course", str(_course(tmp_path)), "doctor")
    assert code == 1
    assert "  " + t("sb_hint_network", "ja") in lines and "  " + t("sb_hint_unsafe", "ja") in lines
    assert "  " + t("sb_hint_install", "ja") not in lines and "  " + t("sb_hint_apparmor", "ja") not in lines


def test_refusal_gives_the_hints_of_its_own_problem():
    from autograde.sandbox import SandboxUnavailable

    missing = SandboxUnavailable(Text("sb_no_bwrap")).message("en")
    failing = SandboxUnavailable(Text("sb_bwrap_failed", detail="uid map")).message("en")
    assert missing.startswith(t("sb_refused", "en", problem=t("sb_no_bwrap", "en")))
    assert t("sb_hint_install", "en") in missing and t("sb_hint_apparmor", "en") not in missing
    assert t("sb_hint_apparmor", "en") in failing and t("sb_hint_install", "en") not in failing
    assert all(t("sb_hint_unsafe", "en") in m for m in (missing, failing))
