"""The checker's codes for an answer that never came are explained in the course's language."""
from __future__ import annotations

import pytest
from nbformat.v4 import new_output

from autograde.execute import SandboxedExecute

LANGS = ("en", "ja", "ko")


def _explain(lang: str, ename: str, evalue: str):
    return SandboxedExecute(sandbox={"lang": lang}, timeout=20)._explained(
        new_output("error", ename=ename, evalue=evalue, traceback=[evalue]))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", ["stopped", "no_answer", "unreadable", "anything a forged reply says"])
def test_each_code_reads_as_a_sentence_in_the_course_language(lang, code):
    out = _explain(lang, "StudentUnavailable", code)
    assert out.ename == "StudentUnavailable" and out.traceback == [out.evalue]
    assert out.evalue.startswith(("This test", "このテスト", "이 테스트")) and out.evalue.endswith((".", "。"))
    assert "{" not in out.evalue and "_" not in out.evalue
    if lang != "en":
        assert out.evalue != _explain("en", "StudentUnavailable", code).evalue


def test_the_three_codes_say_three_different_things_and_an_unknown_one_is_unreadable():
    said = {code: _explain("en", "StudentUnavailable", code).evalue for code in ("stopped", "no_answer", "unreadable")}
    assert len(set(said.values())) == 3
    assert "50 seconds" in said["no_answer"]  # the relay's wait: the cell's timeout and 30 s more
    assert _explain("en", "StudentUnavailable", "KeyboardInterrupt").evalue == said["unreadable"]


def test_other_errors_pass_unchanged():
    out = new_output("error", ename="AssertionError", evalue="stopped", traceback=["stopped"])
    assert SandboxedExecute(sandbox={"lang": "ja"})._explained(out) is out
