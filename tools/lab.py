"""`make lab`: open the course in JupyterLab 4, rooted at the repository, showing notebooks/.

    python tools/lab.py            # start JupyterLab, print its URL, Ctrl-C to stop
    python tools/lab.py --course classroom/class   # Formgrader on that course (`make lab COURSE=...`)
    python tools/lab.py --check    # start it headless, check it answers, stop (for tests and CI)

nbgrader (Formgrader for instructors, Validate for students) runs on the active course
(autograde.course.active_root: COURSE=, else classroom/class after `make release`, else the
sample class that `make grade` grades on a fresh clone), configured by that course's generated
nbgrader_config.py, the same file nbgrader's CLI reads (autograde.course.jupyter_env).

What it sets up when missing: the built notebooks (tools/build_notebooks.py) and a `python3`
kernel that runs this interpreter (the one with torch and gradcoach). jupytext (lessons/*.md open
as notebooks) and nbgrader's server extensions register themselves on install
(etc/jupyter/jupyter_server_config.d); they are also enabled on the command line, so a user
config that leaves them out cannot hide them.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from autograde.course import Course, active_root, jupyter_env
from autograde.messages import t
from gradcoach_languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = "notebooks"
SERVER_EXTENSIONS = (
    "jupyterlab_jupytext",
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free on loopback, otherwise a port the OS picks."""
    candidates = ([preferred] if preferred else []) + [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


def lab_command(root: Path, port: int, *, open_browser: bool, default_path: str = DEFAULT_PATH,
                extra: tuple[str, ...] = ()) -> list[str]:
    """The `jupyter lab` command line (the token travels in JUPYTER_TOKEN, not in argv)."""
    cmd = [sys.executable, "-m", "jupyterlab",
           f"--ServerApp.root_dir={root}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.answer_yes=True",  # one Ctrl-C stops it, no y/n prompt (in a terminal)
           f"--LabApp.default_url=/lab/tree/{default_path}"]
    cmd += [f"--ServerApp.jpserver_extensions={name}=True" for name in SERVER_EXTENSIONS]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, Colab-like machines
        cmd.append("--ServerApp.allow_root=True")
    return cmd + list(extra)


def has_display() -> bool:
    """False on CI and on a Linux machine without a graphical session."""
    if os.environ.get("CI"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def ensure_notebooks(root: Path = ROOT) -> None:
    """Build the notebooks when a language folder has none (they are committed, so rarely)."""
    builder = root / "tools" / "build_notebooks.py"
    missing = missing_notebooks(root)
    if missing and builder.exists():
        print(f"notebooks/{{{','.join(missing)}}} are empty: building them …", flush=True)
        subprocess.run([sys.executable, str(builder)], cwd=root, check=True)


def missing_notebooks(root: Path = ROOT) -> list[str]:
    return [lang for lang in LANGUAGES if not any((root / "notebooks" / lang).glob("*.ipynb"))]


def kernel_is_this_python() -> bool:
    """Whether the `python3` kernel runs this interpreter (the one with torch and gradcoach)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    except NoSuchKernel:
        return False
    # jupyter_client launches a bare `python`/`python3`/`python3.X` with the server's interpreter.
    bare = {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}
    return argv0 in bare or Path(argv0).resolve() == Path(sys.executable).resolve()


def ensure_kernel() -> None:
    """Make the `python3` kernel this interpreter.

    A `python3` kernelspec left in the user's data dir by another Python would otherwise win;
    one installed in this environment (--sys-prefix) takes precedence inside a virtualenv.
    """
    if kernel_is_this_python():
        return
    print("Installing the course's python3 kernel into this environment …", flush=True)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
                    "--display-name", "Python 3 (autograd course)"], check=True)


@contextlib.contextmanager
def running_lab(root: Path = ROOT, *, port: int | None = None, token: str | None = None,
                open_browser: bool = False, isolated: bool = False, settings: dict | None = None,
                extra: tuple[str, ...] = (), timeout: float = 90.0, log=None, course: Path | None = None,
                env: dict | None = None):
    """Run JupyterLab while the block runs; yields ``(base_url, token, process)``.

    ``course``: the nbgrader course directory Formgrader and Validate work on (inside ``root``);
    ``env``: variables added to the server's (and so its kernels') environment.

    ``isolated``: temporary Jupyter runtime, config, settings and workspace folders, so a test
    neither reads nor leaves the user's; ``settings`` then maps plugin ids
    ("@jupyterlab/docmanager-extension:plugin") to user settings. Output goes to ``log`` (a file)
    or is inherited.
    """
    token = token or secrets.token_hex(24)
    env = dict(os.environ, **(env or {}), JUPYTER_TOKEN=token)
    if course is not None:
        problem = course_problem(root, course)
        if problem:
            raise ValueError(problem)
        if Course(course).exists:
            Course(course).write_nbgrader_config()  # as this version of autograde writes it
        env = jupyter_env(course, env)
    with contextlib.ExitStack() as stack:
        if isolated:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-")))
            env.update(JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                       JUPYTER_DATA_DIR=str(tmp / "data"))
            extra = (f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
                     f"--LabApp.user_settings_dir={tmp / 'settings'}") + tuple(extra)
            for plugin, values in (settings or {}).items():
                package, name = plugin.rsplit(":", 1)
                path = tmp / "settings" / package / f"{name}.jupyterlab-settings"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(values))
        elif settings:
            raise ValueError("settings need isolated=True (they would overwrite the user's)")
        # A port found free can be taken before JupyterLab binds it (a kernel's ZeroMQ socket on a
        # busy machine): JupyterLab then exits, and a port we picked ourselves is picked again.
        for attempt in range(1 if port else 3):
            chosen = port or free_port()
            cmd = lab_command(root, chosen, open_browser=open_browser, extra=extra)
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
                                    start_new_session=isolated)
            base = f"http://127.0.0.1:{chosen}"
            try:
                wait_until_answering(base, token, proc, timeout)
                break
            except RuntimeError:
                stop(proc)
                if port or attempt == 2:
                    raise
            except BaseException:
                stop(proc)
                raise
        try:
            yield base, token, proc
        finally:
            stop(proc)


def course_problem(root: Path, course: Path) -> str | None:
    """Why Formgrader could not open ``course`` from a server rooted at ``root`` (None: it can)."""
    course, root = Path(course).resolve(), Path(root).resolve()
    if not course.is_relative_to(root):
        return t("lab_course_outside", Course(course).settings.lang, course=course, root=root)
    return None


def describe_course(root: Path, course: Path) -> str:
    """The banner's line for instructors: which course Formgrader opens."""
    c = Course(course)
    if not c.exists:
        return t("lab_no_course", c.settings.lang, course=Path(course).resolve().relative_to(root))
    return t("lab_formgrader", c.settings.lang, course=c.root.relative_to(root),
             assignments=", ".join(c.settings.assignments) or "-")


def wait_until_answering(base: str, token: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {proc.returncode} before answering")
        try:
            get_json(base, token, "/api/status")
            return
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError):
            time.sleep(0.3)  # not up yet, or another program on the port (then JupyterLab exits)
    raise TimeoutError(f"JupyterLab did not answer at {base} within {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: jupyter_server shuts its kernels down and exits
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(base: str, token: str, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_json(base: str, token: str, path: str):
    req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def formgrader_course(base: str, token: str, course: Path) -> tuple[bool, str]:
    """Whether Formgrader lists the course's assignments, with their submission counts."""
    c = Course(course)
    status, body = get(base, token, "/formgrader/api/assignments")
    if status != 200:
        return False, f"HTTP {status}"
    listed = {a["name"]: a for a in json.loads(body)}
    if not c.exists:
        return not listed, f"no course in {c.root} yet ({len(listed)} assignment(s) listed)"
    missing = [a for a in c.settings.assignments if a not in listed]
    if missing:
        return False, f"missing {', '.join(missing)} (listed: {', '.join(listed) or 'none'})"
    return True, ", ".join(f"{a}: {listed[a]['num_submissions']} submission(s)" for a in c.settings.assignments)


def check(base: str, token: str, root: Path = ROOT, course: Path | None = None) -> list[tuple[str, bool, str]]:
    """What a student, a contributor and an instructor need from the running server."""
    missing = missing_notebooks(root)
    results = [("notebooks built", not missing, "missing: " + ", ".join(missing) if missing else "en, ja, ko"),
               ("python3 kernel runs this Python", kernel_is_this_python(), sys.executable)]
    status, _ = get(base, token, f"/lab/tree/{DEFAULT_PATH}")
    results.append(("JupyterLab opens notebooks/", status == 200, f"HTTP {status}"))
    status, body = get(base, token, "/api/kernelspecs")
    specs = json.loads(body).get("kernelspecs", {}) if status == 200 else {}
    results.append(("python3 kernel available", "python3" in specs, ", ".join(specs) or f"HTTP {status}"))
    text_nb = next(iter(sorted((root / "lessons").glob("*.md"))), root / "README.md")
    rel = urllib.parse.quote(text_nb.relative_to(root).as_posix())
    status, body = get(base, token, f"/api/contents/{rel}?type=notebook&content=1")
    cells = len(json.loads(body)["content"]["cells"]) if status == 200 else 0
    results.append((f"jupytext opens {text_nb.relative_to(root)} as a notebook", status == 200 and cells > 0,
                    f"HTTP {status}, {cells} cells"))
    status, _ = get(base, token, "/formgrader")
    # The formgrader answers 200 (or redirects) once nbgrader's server extension is loaded, 404 otherwise.
    results.append(("nbgrader formgrader extension loaded", status in (200, 302), f"HTTP {status}"))
    if course is not None:
        ok, detail = formgrader_course(base, token, course)
        rel = Path(course).resolve().relative_to(root.resolve())
        results.append((f"Formgrader opens the course {rel}", ok, detail))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="start headless on a free port with a temporary token, check what students, "
                             "contributors and instructors need, stop; exit 0 when all is well")
    parser.add_argument("--port", type=int, default=None, help="port (default 8888, or a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--course", help="the nbgrader course Formgrader opens (default: classroom/class after "
                                         "`make release`, else the sample class classroom/sample)")
    args = parser.parse_args(argv)
    course = active_root(args.course)
    problem = course_problem(ROOT, course)
    if problem:
        print(f"✘ {problem}", file=sys.stderr)
        return 2

    if args.check:  # changes nothing: reports what `make lab` would set up
        with tempfile.TemporaryFile() as log:
            try:
                with running_lab(port=args.port, isolated=True, log=log, course=course) as (base, token, _):
                    results = check(base, token, course=course)
            except (RuntimeError, TimeoutError) as err:
                log.seek(0)
                print(log.read().decode(errors="replace")[-4000:], file=sys.stderr)
                print(f"✘ {err}", file=sys.stderr)
                return 1
        for name, ok, detail in results:
            print(f"{'✔' if ok else '✘'} {name} ({detail})")
        return 0 if all(ok for _, ok, _ in results) else 1

    ensure_notebooks()
    ensure_kernel()
    port = args.port or free_port(8888)
    open_browser = has_display() and not args.no_browser
    # Ctrl-C reaches JupyterLab too (same process group) and stops it; we only wait for that. A
    # handler (not SIG_IGN, which a child would inherit) keeps this process alive meanwhile.
    interrupted = []
    signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `finally` then stops JupyterLab
    try:
        with running_lab(port=port, open_browser=open_browser, course=course) as (base, token, proc):
            url = f"{base}/lab/tree/{DEFAULT_PATH}?token={token}"
            print(f"\n  The course is open in JupyterLab: {url}\n"
                  "  Students: notebooks/<en|ja|ko>/ (Validate button: run the notebook's tests) · "
                  "Contributors: lessons/*.md (right-click → Open With → Jupytext Notebook)\n"
                  f"  {describe_course(ROOT, course)}\n"
                  f"  Formgrader: {base}/formgrader?token={token}\n"
                  "  Ctrl-C to stop.\n", flush=True)
            proc.wait()
    except (RuntimeError, TimeoutError) as err:
        if interrupted:  # Ctrl-C while it was starting
            return 130
        print(f"✘ {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
