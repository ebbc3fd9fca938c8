"""`make lab` (tools/lab.py): JupyterLab 4 rooted at the repository, opening notebooks/, with
jupytext and nbgrader's server extensions on the active course, never blocking a test (`--check`
starts, checks, stops)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograde.course as course_module

from _autograde import make_course
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


def test_the_active_course_is_COURSE_else_the_released_class_else_the_sample(monkeypatch, tmp_path):
    monkeypatch.setattr(course_module, "DEFAULT_ROOT", tmp_path / "class")
    assert course_module.active_root() == course_module.SAMPLE_ROOT
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "autograde.json").write_text("{}")
    assert course_module.active_root() == tmp_path / "class"
    assert course_module.active_root(tmp_path / "mine") == (tmp_path / "mine").resolve()


def test_nbgrader_in_the_server_reads_the_courses_own_config_first(tmp_path):
    env = course_module.jupyter_env(tmp_path, {"JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(tmp_path.resolve()), "/elsewhere"]


def test_a_course_outside_the_served_folder_is_refused_with_a_clear_message(tmp_path):
    problem = lab.course_problem(ROOT, tmp_path / "course")
    assert problem and "classroom/" in problem and str(ROOT) in problem
    assert lab.course_problem(ROOT, ROOT / "classroom" / "class") is None
    with pytest.raises(ValueError, match="Formgrader"):
        with lab.running_lab(ROOT, course=tmp_path / "course"):
            pass


@pytest.fixture(scope="module")
def released_course():
    """A released course inside the repository (Formgrader's rule), in the git-ignored build/."""
    root = ROOT / "build" / f"test-lab-course-{os.getpid()}"
    make_course(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_lab_check_starts_answers_and_stops(released_course):
    """What `make lab` starts, checked over HTTP: notebooks/ opens, the kernel is there, a lesson
    opens as a notebook through jupytext, Formgrader lists the course's assignments; then it stops."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "lab.py"), "--check",
                           "--course", str(released_course)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    report = done.stdout + done.stderr
    lines = report.splitlines()
    for what in ("notebooks built", "python3 kernel runs this Python", "JupyterLab opens notebooks/",
                 "python3 kernel available", "as a notebook", "nbgrader formgrader extension loaded",
                 "Formgrader opens the course build/test-lab-course-"):
        assert any(line.startswith("✔ ") and what in line for line in lines), f"{what!r} not confirmed:\n{report}"
    assert "01_fixture_scalar: 0 submission(s), 02_fixture_chain: 0 submission(s)" in report
    assert done.returncode == 0, report


def test_the_banner_names_the_course_formgrader_opens(released_course, tmp_path):
    line = lab.describe_course(ROOT, released_course)
    assert "Formgrader" in line and "01_fixture_scalar, 02_fixture_chain" in line
    assert "make grade" in lab.describe_course(ROOT, ROOT / "build" / "no-course-here")
