"""Each student's kernel runs inside bubblewrap (``bwrap``); this module builds that sandbox.

What the kernel sees: the system (``/usr``) and the Python environment read-only, gradcoach
read-only, ``/opt/autograde`` (boot.py and autograde_guard.py) read-only, a private size-limited
tmpfs as ``/tmp`` (its home and working directory), and one directory of its own for the ZeroMQ
sockets (IPC transport: the kernel has no network, not even loopback to the grader). It does not
see the course directory, the gradebook, the solutions, the repository or other students.
Limits (memory, processes, CPU time, file size, open files) are set by boot.py inside.

When the grader runs as root, bwrap runs privileged without a user namespace and boot.py switches
the kernel to an unprivileged uid of its own (root is exempt from the process limit); otherwise
bwrap creates an unprivileged user namespace.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Unicode

INSIDE = Path(__file__).with_name("inside")
MOUNT_POINT = "/opt/autograde"
HOME = "/tmp/home"
RUN_DIR = "/run/ag"
SOCKETS = "/tmp/.k/k"  # inside the sandbox's own /tmp; the grader reaches it via /proc/PID/root
ROOT_UID_BASE = 1_900_000_000
MAX_MESSAGE = 64 * 1024 * 1024
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "mime.types", "nsswitch.conf")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create a sandbox on this machine."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits (see autograde/README.md, "Configuration")."""

    memory_mb: int = 2048      # address space (RLIMIT_AS)
    processes: int = 64        # processes and threads (RLIMIT_NPROC)
    cpu_seconds: int = 600     # CPU time for the whole notebook (RLIMIT_CPU)
    file_mb: int = 64          # largest file the kernel may write (RLIMIT_FSIZE)
    scratch_mb: int = 256      # size of the private /tmp
    open_files: int = 256      # RLIMIT_NOFILE
    max_output_chars: int = 1_000_000  # stdout/stderr per cell that leaves the kernel

    def rlimits(self) -> dict:
        mb = 1024 * 1024
        return {"RLIMIT_AS": self.memory_mb * mb, "RLIMIT_NPROC": self.processes,
                "RLIMIT_CPU": [self.cpu_seconds, self.cpu_seconds + 5], "RLIMIT_FSIZE": self.file_mb * mb,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CORE": 0}


UNAVAILABLE_HELP = (
    "Refusing to grade without the sandbox: {problem}\n"
    "Student code runs only inside bubblewrap. Install it (Debian/Ubuntu: sudo apt-get install bubblewrap; "
    ".ci/run does this). On Ubuntu 23.10 and later, unprivileged user namespaces may be blocked by "
    "AppArmor: see autograde/README.md, 'Sandbox'.\n"
    "Only for notebooks you trust, grade without it: add --unsafe-no-sandbox (make grade UNSAFE=1)."
)


def _python_roots() -> list[str]:
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    spec = importlib.util.find_spec("gradcoach")
    if spec and spec.submodule_search_locations:
        roots.add(os.path.realpath(list(spec.submodule_search_locations)[0]))
    covered = [r for r in roots if r.startswith("/usr/")]
    return sorted(r for r in roots if r not in covered)


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _isolation_args(as_root: bool) -> list[str]:
    if as_root:
        # Privileged bwrap without a user namespace; boot.py needs these capabilities only to
        # switch to the kernel's own uid (after which it holds none).
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                "--cap-add", "CAP_CHOWN"]
    return ["--unshare-all", "--unshare-user", "--disable-userns"]


def bwrap_argv(kernel_dir: str, limits: Limits, env: dict[str, str], uid: int | None,
               info_fd: int | None = None) -> list[str]:
    """The bwrap prefix that runs a command in a fresh sandbox; ``kernel_dir`` appears read-only
    as ``/run/ag`` (connection file, passwd)."""
    args = [shutil.which("bwrap") or "bwrap", *_isolation_args(uid is not None),
            "--die-with-parent", "--new-session", "--clearenv", "--hostname", "grader"]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    roots = _python_roots()
    # bwrap would create missing parents of mount points as 0700 (root mode): make them 0755.
    parents = sorted({str(p) for path in [*roots, MOUNT_POINT, RUN_DIR, "/etc/passwd"]
                      for p in Path(path).parents} - {"/"})
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    args += _system_args()
    for root in roots:
        args += ["--ro-bind", root, root]
    args += ["--ro-bind", str(INSIDE), MOUNT_POINT,
             "--ro-bind", kernel_dir, RUN_DIR,
             "--ro-bind", os.path.join(kernel_dir, "passwd"), "/etc/passwd",
             "--ro-bind", os.path.join(kernel_dir, "group"), "/etc/group",
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", "/tmp",
             "--chdir", "/tmp"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def kernel_env(lang: str, boot: dict) -> dict[str, str]:
    """The kernel's whole environment (bwrap starts from an empty one)."""
    home = boot["home"]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "USER": "student", "LOGNAME": "student",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLCONFIGDIR": f"{home}/.config/matplotlib",
           "IPYTHONDIR": f"{home}/.ipython", "JUPYTER_RUNTIME_DIR": f"{home}/.runtime",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", "GRADCOACH_LANG": lang,
           "AUTOGRADE_BOOT": json.dumps(boot)}
    if os.environ.get("NBGRADER_EXECUTION"):
        env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
    return env


def _write_identity(kernel_dir: str, uid: int) -> None:
    Path(kernel_dir, "passwd").write_text(f"student:x:{uid}:{uid}:student:{HOME}:/usr/sbin/nologin\n")
    Path(kernel_dir, "group").write_text(f"student:x:{uid}:\n")


@lru_cache(maxsize=None)
def probe() -> str | None:
    """None when a sandbox can be created here, else what went wrong (cached per process)."""
    if shutil.which("bwrap") is None:
        return "bwrap (bubblewrap) is not installed"
    kernel_dir = tempfile.mkdtemp(prefix="ag-")
    try:
        uid = os.getuid()
        _write_identity(kernel_dir, uid)
        argv = bwrap_argv(kernel_dir, Limits(), {"PATH": "/usr/bin:/bin"}, ROOT_UID_BASE if uid == 0 else None)
        probe_code = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=1)"
        proc = subprocess.run([*argv, sys.executable, "-I", "-c", probe_code], capture_output=True, text=True,
                              timeout=60)
        if "Network is unreachable" not in proc.stderr and "OSError" not in proc.stderr:
            problem = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            if proc.returncode == 0:
                return "the sandbox reached the network"
            return f"bwrap failed: {problem[0]}"
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap failed: {exc}"
    finally:
        shutil.rmtree(kernel_dir, ignore_errors=True)


def require_sandbox() -> None:
    problem = probe()
    if problem:
        raise SandboxUnavailable(UNAVAILABLE_HELP.format(problem=problem))


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is boot.py inside bwrap, reached over IPC sockets.

    The kernel binds its sockets in its private /tmp (``SOCKETS``); the grader connects through
    ``/proc/<sandbox pid>/root``, so no host directory is writable from inside. Configured through
    traitlets (``SandboxKernelManager.settings``): ``limits`` (:class:`Limits` fields), ``lang``,
    ``sandbox`` (False only with --unsafe-no-sandbox), and the guard's ``entry`` and ``aliases``.
    """

    settings = Dict(config=True, help="limits, lang, sandbox, entry, aliases")
    kernel_dir = Unicode()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_dir = tempfile.mkdtemp(prefix="ag-")
        self.transport = "ipc"
        self.ip = SOCKETS if self.sandboxed else os.path.join(self.kernel_dir, "k")
        self.connection_file = os.path.join(self.kernel_dir, "kernel.json")
        self.uid = (ROOT_UID_BASE + secrets.randbelow(10**8)) if os.getuid() == 0 else None
        self.stderr_log = tempfile.TemporaryFile()
        self._sandbox_spec = KernelSpec(
            argv=[sys.executable, "-I", "-B", os.path.join(MOUNT_POINT if self.sandboxed else str(INSIDE), "boot.py"),
                  "-f", f"{RUN_DIR}/kernel.json" if self.sandboxed else "{connection_file}"],
            display_name="Python 3 (grading sandbox)", language="python", interrupt_mode="message", env={})

    @property
    def kernel_spec(self) -> KernelSpec:
        return self._sandbox_spec

    def client(self, **kwargs):
        """A client that drops (and disconnects on) any single message over MAX_MESSAGE bytes."""
        client = super().client(**kwargs)
        client.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        return client

    @property
    def sandboxed(self) -> bool:
        return bool(self.settings.get("sandbox", True))

    @property
    def limits(self) -> Limits:
        return Limits(**self.settings.get("limits", {}))

    def boot_config(self) -> dict:
        return {"rlimits": self.limits.rlimits(), "uid": self.uid if self.sandboxed else None,
                "home": HOME if self.sandboxed else os.path.join(self.kernel_dir, "home"),
                "sockets": os.path.dirname(self.ip), "lang": self.settings.get("lang", "en"),
                "entry": self.settings["entry"], "aliases": self.settings.get("aliases", {}),
                "max_output_chars": self.limits.max_output_chars}

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        boot = self.boot_config()
        env = kernel_env(boot["lang"], boot)
        kw.update(cwd=self.kernel_dir, stdout=subprocess.DEVNULL, stderr=self.stderr_log)
        if not self.sandboxed:
            kw["env"] = {**os.environ, **env}
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        _write_identity(self.kernel_dir, self.uid if self.uid is not None else os.getuid())
        if self.uid is not None:
            for path in (self.kernel_dir, *(str(p) for p in Path(self.kernel_dir).iterdir())):
                os.chown(path, self.uid, self.uid)
        read_end, write_end = os.pipe()
        try:
            prefix = bwrap_argv(self.kernel_dir, self.limits, {**env, "TMPDIR": "/tmp"}, self.uid, info_fd=write_end)
            kw.update(env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, pass_fds=(write_end,))
            await super()._async_launch_kernel(prefix + kernel_cmd, **kw)
            os.close(write_end)
            write_end = -1
            child = await asyncio.get_running_loop().run_in_executor(None, _read_child_pid, read_end)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        if child is None:
            raise RuntimeError(f"the sandbox did not start: {self.stderr_tail() or 'no message'}")
        # From here on the grader's side of every socket is the sandbox's /tmp seen from outside.
        self.ip = f"/proc/{child}/root{SOCKETS}"

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources

    def exit_status(self) -> int | None:
        """The sandbox's exit status once the kernel is gone (bwrap passes the kernel's on)."""
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the kernel (and bwrap) wrote to stderr."""
        try:
            size = self.stderr_log.seek(0, os.SEEK_END)
            self.stderr_log.seek(max(0, size - limit))
            return self.stderr_log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""


def _read_child_pid(fd: int, timeout: float = 30.0) -> int | None:
    """bwrap's --info-fd JSON ({"child-pid": N}); None if bwrap exits without writing it."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError):
            continue
    return None


def settings_dict(limits: Limits, lang: str, sandbox: bool, entry: str, aliases: dict) -> dict:
    return {"limits": asdict(limits), "lang": lang, "sandbox": sandbox, "entry": entry, "aliases": aliases}
