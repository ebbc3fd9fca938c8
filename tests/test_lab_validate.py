"""nbgrader's Validate button on the student notebooks in `make lab`.

The button saves the notebook and POSTs ``/assignments/validate?path=<notebook>`` to the server
(nbgrader's labextension); this test makes the same request to the same server `make lab` starts,
with the course's nbgrader configuration. Validate runs the whole notebook in a kernel and lists
the test cells that fail: on an unanswered student notebook, every exercise's test, each with
gradcoach's "not answered yet" message in the notebook's language. Every kernel runs with a
socket guard (sitecustomize) that records and refuses any connection beyond loopback: the setup
cell installs gradcoach only where it is missing, so validating never reaches the network.
"""
from __future__ import annotations

import html
import json
import re
import textwrap
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

import gradcoach
from gradcoach_languages import LANGUAGES

from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
lab = load_tool("lab")

# Each lesson once, the languages taking turns (the three translations of a lesson share its code;
# tests/test_build_execution.py runs all of them).
LESSONS = sorted({p.name for p in (ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb")})
NOTEBOOKS = [f"notebooks/{LANGUAGES[i % len(LANGUAGES)]}/{name}" for i, name in enumerate(LESSONS)]

GUARD = textwrap.dedent('''
    import os
    import socket

    _LOCAL = ("127.0.0.1", "::1", "localhost")
    _connect = socket.socket.connect
    _getaddrinfo = socket.getaddrinfo


    def _refuse(what):
        with open(os.environ["NETWORK_ATTEMPTS"], "a") as fh:
            fh.write(f"{os.getpid()} {what!r}\\n")
        raise OSError(f"network access refused by the test: {what!r}")


    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL:
            _refuse(address)
        return _connect(self, address)


    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOCAL and host is not None:
            _refuse(host)
        return _getaddrinfo(host, *args, **kwargs)


    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
    with open(os.environ["NETWORK_GUARD_LOADED"], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
''')

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validate")
    (tmp / "site").mkdir()
    (tmp / "site" / "sitecustomize.py").write_text(GUARD)
    attempts = tmp / "network.log"
    attempts.touch()
    loaded = tmp / "guarded.log"
    env = {"PYTHONPATH": str(tmp / "site"), "NETWORK_ATTEMPTS": str(attempts), "NETWORK_GUARD_LOADED": str(loaded)}
    course = ROOT / "classroom" / "sample"  # whatever state it is in: Validate needs no course
    with open(tmp / "lab.log", "wb") as log:
        with lab.running_lab(ROOT, isolated=True, log=log, env=env, course=course) as (base, token, _):
            yield base, token, attempts, loaded


def validate(base: str, token: str, path: str) -> dict:
    """What the Validate button does once the notebook is saved."""
    url = f"{base}/assignments/validate?path={urllib.parse.quote(path)}"
    req = urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.load(resp)


def plain(error_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", error_html))


def test_each_lesson_is_checked_in_a_language():
    assert len(NOTEBOOKS) >= 7 and {p.split("/")[1] for p in NOTEBOOKS} == set(LANGUAGES)


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_validate_reports_each_unanswered_exercise_in_the_notebooks_language(served, path):
    base, token, attempts, loaded = served
    lang = path.split("/")[1]
    guarded = len(loaded.read_text().split())
    nb = nbformat.read(ROOT / path, as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    result = validate(base, token, path)
    assert result["success"], result["value"]
    value = result["value"]
    assert not value.get("changed"), f"Validate says the student changed read-only cells of {path}"
    failed = value.get("failed", [])
    assert len(failed) == len(tests) > 0, f"{path}: {len(failed)} failing tests reported, {len(tests)} test cells"
    intro = gradcoach.t("not_answered", lang=lang, name="\0").split("\0")[0].strip()
    for entry in failed:
        assert intro in plain(entry["error"]), f"{path}: a failing test without the {lang} message {intro!r}"
    assert len(loaded.read_text().split()) > guarded, "the notebook's kernel ran without the socket guard"
    assert attempts.read_text() == "", f"validating {path} tried to reach the network:\n{attempts.read_text()}"
