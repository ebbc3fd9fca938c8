"""The grading sandbox: what a student's kernel can and cannot reach.

Kernels are started the way grading starts them (SandboxKernelManager, forked by the worker's
zygote inside bubblewrap) and run small cells that probe their surroundings.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from autograde import sandbox
from autograde.course import Course
from autograde.sandbox import Limits, SandboxKernelManager, SandboxUnavailable, probe, require_sandbox, root_mode

from _autograde import ROOT

needs_sandbox = pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")
LIMITS = Limits()


@pytest.fixture(params=["as_configured", "userns"])
def mode(request, monkeypatch):
    """Each check runs as grading runs here and the way it runs for a normal (non-root) user."""
    if request.param == "userns":
        monkeypatch.setenv("AUTOGRADE_SANDBOX", "userns")
    return request.param


def run_cells(cells: list[str], sandboxed: bool = True, lang: str = "en") -> list[str]:
    """Run the cells in one fresh grading kernel; the text each one printed (or its error)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    config = Config()
    config.SandboxKernelManager.settings = sandbox.KernelSettings(LIMITS, lang, sandboxed, "__ag_restore_test").to_config()
    NotebookClient(nb, kernel_manager_class=SandboxKernelManager, config=config, timeout=60,
                   allow_errors=True, shutdown_kernel="immediate").execute()
    texts = []
    for cell in nb.cells:
        parts = []
        for out in cell.outputs:
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", "")
                         or f"{out.get('ename')}: {out.get('evalue')}")
        texts.append("".join(parts).strip())
    return texts


@pytest.fixture(scope="module")
def secret_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("secret") / "course"
    course = Course(root)
    course.save()
    (root / "gradebook.db").write_bytes(b"SQLite format 3\0 the gradebook")
    other = root / "submitted" / "someone_else" / "01_x" / "01_x.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    return root


@needs_sandbox
@pytest.mark.slow
def test_sandbox_denies_network(mode):
    out = run_cells([
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    print('CONNECTED')\n"
        "except OSError as exc:\n    print('refused:', exc)",
        "import socket\ntry:\n    print(socket.gethostbyname('pypi.org'))\nexcept OSError as exc:\n    print('refused:', exc)",
    ])
    assert out[0].startswith("refused:") and "CONNECTED" not in out[0]
    assert out[1].startswith("refused:")


@needs_sandbox
@pytest.mark.slow
def test_sandbox_cannot_read_the_gradebook_solutions_or_other_students(mode, secret_course):
    gradebook = secret_course / "gradebook.db"
    other = secret_course / "submitted" / "someone_else"
    out = run_cells([
        f"print(open({str(gradebook)!r}, 'rb').read())",
        f"import os\nprint(os.path.exists({str(other)!r}), os.path.exists({str(secret_course)!r}))",
        f"import os\nprint(sorted(os.listdir({str(ROOT)!r})))",
        f"import os\nprint(os.path.exists({str(ROOT / 'solutions')!r}), os.path.exists({str(ROOT / 'lessons')!r}))",
    ])
    assert out[0].startswith("FileNotFoundError")
    assert out[1] == "False False"
    assert out[2] == "['.venv', 'gradcoach', 'gradcoach_languages.py']"  # what gradcoach needs, nothing more
    assert out[3] == "False False"


@needs_sandbox
@pytest.mark.slow
def test_sandbox_system_is_read_only_and_scratch_is_private_and_limited(mode):
    out = run_cells([
        f"try:\n    open({sys.prefix + '/evil.txt'!r}, 'w')\nexcept OSError as exc:\n    print(type(exc).__name__, exc.strerror)",
        "import os\nopen(os.path.expanduser('~/notes.txt'), 'w').write('mine')\nprint(os.getcwd().startswith('/tmp/'))",
        "try:\n    with open('/tmp/big.bin', 'wb') as fh:\n        fh.write(b'0' * (100 * 1024 * 1024))\n"
        "except OSError as exc:\n    print(type(exc).__name__, exc.strerror)",
        "import resource\nprint([resource.getrlimit(getattr(resource, n))[0] for n in "
        "('RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_CPU', 'RLIMIT_FSIZE')])",
        "import os\nprint(os.getuid(), [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0],"
        " os.environ['HOME'].startswith('/tmp/'))",
    ])
    assert out[0] == "OSError Read-only file system"
    assert out[1] == "True"
    assert out[2].startswith("OSError") and ("too large" in out[2] or "space" in out[2])
    mb = 1024 * 1024
    assert out[3] == str([LIMITS.memory_mb * mb, LIMITS.processes, LIMITS.cpu_seconds, LIMITS.file_mb * mb])
    uid, capabilities, home_in_tmp = out[4].split()
    assert capabilities == "0000000000000000" and home_in_tmp == "True"
    if root_mode():  # the kernel got a uid of its own (as a normal user it keeps the user's, unprivileged)
        assert int(uid) >= sandbox.ROOT_UID_BASE


@needs_sandbox
@pytest.mark.slow
def test_nothing_survives_from_one_kernel_to_the_next(mode):
    first = run_cells(["import os, subprocess\nopen('/tmp/left_behind.txt', 'w').write('secret')\n"
                       "subprocess.Popen(['sleep', '298'])\nprint(os.listdir('/tmp'))"])
    assert "left_behind.txt" in first[0]
    second = run_cells(["import os\nprint(os.path.exists('/tmp/left_behind.txt'))\n"
                        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()))"])
    exists, pids = second[0].splitlines()
    assert exists == "False"
    others = [p for p in eval(pids) if p != 1]  # 1: the sandbox's init; the zygote is the kernel's parent
    assert len(others) <= 1
    assert "sleep 298" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


@needs_sandbox
@pytest.mark.slow
def test_gradcoach_in_the_sandbox_is_the_repositorys_and_speaks_the_course_language():
    out = run_cells(["import gradcoach\nprint(gradcoach.__file__)\nprint(gradcoach.language())"], lang="ko")
    path, lang = out[0].splitlines()
    assert Path(path).parent == ROOT / "gradcoach"
    assert lang == "ko"


@pytest.mark.slow
def test_unsafe_mode_runs_without_the_sandbox():
    out = run_cells(["import os\nprint(os.path.exists('/work') or os.path.exists('/home') or True)"], sandboxed=False)
    assert out == ["True"]


def test_missing_bwrap_refuses_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    probe.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable) as info:
            require_sandbox()
    finally:
        probe.cache_clear()
    message = str(info.value)
    assert "bubblewrap" in message and "apt-get install bubblewrap" in message
    assert "--unsafe-no-sandbox" in message


def test_cli_refuses_to_grade_without_bwrap_unless_told(tmp_path):
    course = Course(tmp_path / "course")
    course.save()
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    cmd = [sys.executable, "-m", "autograde", "--course", str(course.root), "grade", "--quiet"]
    refused = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode == 3
    assert "bwrap (bubblewrap) is not installed" in refused.stderr and "--unsafe-no-sandbox" in refused.stderr
    allowed = subprocess.run(cmd + ["--unsafe-no-sandbox"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr
    assert "WITHOUT the sandbox" in allowed.stderr


@needs_sandbox
@pytest.mark.slow
def test_grading_leaves_no_temporary_directory_behind(mode, tmp_path, monkeypatch):
    """Pool workers never run atexit handlers: the sandbox's passwd/group files and each kernel's
    directory must be gone when a notebook is done, not at exit."""
    import tempfile

    sandbox.Zygote.close_all()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert run_cells(["print(6 * 7)"]) == ["42"]
    assert sandbox.Zygote._instances  # the worker's zygote is still running, ready for the next notebook
    assert list(tmp_path.iterdir()) == []
    sandbox.Zygote.close_all()
