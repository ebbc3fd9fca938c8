"""`make lab` (tools/lab.py): JupyterLab 4 rooted at the repository, opening notebooks/, with
jupytext and nbgrader's server extensions, never blocking a test (`--check` starts, checks, stops)."""
import subprocess
import sys
from pathlib import Path

import pytest

from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
lab = load_tool("lab")


def test_command_opens_notebooks_with_jupytext_and_nbgrader_on_loopback():
    cmd = lab.lab_command(ROOT, 8899, open_browser=False)
    assert "--LabApp.default_url=/lab/tree/notebooks" in cmd
    assert f"--ServerApp.root_dir={ROOT}" in cmd and "--ServerApp.ip=127.0.0.1" in cmd
    assert "--ServerApp.jpserver_extensions=jupyterlab_jupytext=True" in cmd
    assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True" in cmd
    assert "--no-browser" in cmd and "--ServerApp.answer_yes=True" in cmd  # one Ctrl-C stops it
    assert not any("token" in arg.lower() for arg in cmd), "the token travels in JUPYTER_TOKEN, not in argv"
    assert "--no-browser" not in lab.lab_command(ROOT, 8899, open_browser=True)


@pytest.mark.parametrize("env, platform, expected", [
    ({"CI": "true", "DISPLAY": ":0"}, "linux", False),
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({}, "darwin", True),
])
def test_browser_opens_only_where_there_is_a_display(monkeypatch, env, platform, expected):
    for name in ("CI", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    assert lab.has_display() is expected


def test_the_course_kernel_is_this_python():
    assert lab.kernel_is_this_python(), "the python3 kernel would not find torch and gradcoach"


def test_settings_need_an_isolated_server():
    with pytest.raises(ValueError, match="isolated"):
        with lab.running_lab(settings={"@jupyterlab/docmanager-extension:plugin": {"autosave": False}}):
            pass


@pytest.mark.slow
def test_lab_check_starts_answers_and_stops():
    """What `make lab` starts, checked over HTTP: notebooks/ opens, the kernel is there, a lesson
    opens as a notebook through jupytext, nbgrader's formgrader answers; then it stops."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "lab.py"), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    report = done.stdout + done.stderr
    lines = report.splitlines()
    for what in ("notebooks built", "python3 kernel runs this Python", "JupyterLab opens notebooks/",
                 "python3 kernel available", "as a notebook", "nbgrader formgrader extension loaded"):
        assert any(line.startswith("✔ ") and what in line for line in lines), f"{what!r} not confirmed:\n{report}"
    assert done.returncode == 0, report
