"""Every student kernel runs inside bubblewrap (``bwrap``); this module builds the sandbox.

Each grading worker has two sandboxes, one for the students' kernels and one for the checkers
that run the test cells; each holds a zygote (inside/zygote.py) that has imported torch and the
rest once and forks one kernel per notebook (inside/boot.py), cleaning up after each. Inside:
the system and the Python environment read-only, the repository's gradcoach read-only,
/opt/autograde (the inside/ scripts) read-only, a private size-limited tmpfs /tmp, no network
(its own network namespace; the kernel's ZeroMQ sockets are IPC sockets in its /tmp that the
grader reaches through /proc/<pid>/root), its own PID namespace. Not mounted: the course
directory, the gradebook, the solutions, the rest of the repository, other students' files.
Limits (memory, processes, CPU time, file size, open files) are set by boot.py in each kernel.

When the grader runs as root, bwrap runs privileged without a user namespace and each kernel
switches to an unprivileged uid of its own (root is exempt from the process limit); otherwise
bwrap creates an unprivileged user namespace. See autograde/README.md, "Sandbox".
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Unicode

from .inside.limits import MAX_MESSAGE
from .messages import Text, t

INSIDE = Path(__file__).with_name("inside")
MOUNT_POINT = "/opt/autograde"
HOME = "/tmp/home"
ROOT_UID_BASE = 1_900_000_000
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "mime.types", "nsswitch.conf")


def root_mode() -> bool:
    """Privileged bwrap with a uid per kernel (the grader runs as root), or a user namespace?
    ``AUTOGRADE_SANDBOX=userns`` takes the user-namespace way as root too (the tests use it)."""
    return os.getuid() == 0 and os.environ.get("AUTOGRADE_SANDBOX") != "userns"


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create a sandbox on this machine: ``problem`` (a :class:`Text`)
    says why; ``str()`` is the English explanation, :meth:`message` the one in a course language."""

    def __init__(self, problem):
        self.problem = problem
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return "\n".join(t(key, lang, problem=self.problem) for key in ("sb_refused", *hints_for(self.problem)))


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


@dataclass(frozen=True)
class KernelSettings:
    """What a grading kernel is started with; built only by :meth:`from_config` (or directly).

    Crosses two boundaries as a plain dict: traitlets configuration (``SandboxedExecute.sandbox``,
    ``SandboxKernelManager.settings``: :meth:`to_config`) and the boot configuration sent into the
    sandbox (:meth:`boot`)."""

    limits: Limits = field(default_factory=Limits)
    lang: str = "en"
    sandbox: bool = True       # False only with --unsafe-no-sandbox
    entry: str = ""            # the guard's per-kernel entry point (a name in builtins)
    guarded: dict = field(default_factory=dict)  # test-cell name -> [alias, module] (inside/guarded.py)
    role: str = "student"      # or "checker": the kernel that runs the test cells (inside/checker.py)
    call_entry: str = ""       # the student kernel's per-kernel message type for the checker's requests

    @classmethod
    def from_config(cls, config: dict | None) -> "KernelSettings":
        config = dict(config or {})
        limits = config.pop("limits", {})
        return cls(limits=limits if isinstance(limits, Limits) else Limits(**limits), **config)

    def with_guard(self, entry: str, guarded: dict) -> "KernelSettings":
        return replace(self, entry=entry, guarded=guarded)

    def to_config(self) -> dict:
        return asdict(self)

    def boot(self, uid: int | None, home: str) -> dict:
        """The configuration inside/boot.py and inside/autograde_guard.py read."""
        return {"rlimits": self.limits.rlimits(), "uid": uid if self.sandbox else None, "home": home,
                "lang": self.lang, "entry": self.entry, "guarded": self.guarded,
                "max_output_chars": self.limits.max_output_chars, "role": self.role, "call_entry": self.call_entry,
                "bridge": os.path.join(os.path.dirname(home), "bridge")}


#: what to do, per problem :func:`probe` finds (a refusal says the problem, then these; ``doctor`` shows
#: them under a failed check): installing bwrap helps only where it is missing, AppArmor only where it
#: fails to start
_HINTS = {"sb_no_bwrap": ("sb_hint_install",), "sb_bwrap_failed": ("sb_hint_apparmor",),
          "sb_network": ("sb_hint_network",)}


def hints_for(problem) -> tuple[str, ...]:
    """The hint keys for a problem (a :class:`Text` from :func:`probe`), ending with the unsafe way out."""
    return (*_HINTS.get(getattr(problem, "key", None), ("sb_hint_install", "sb_hint_apparmor")), "sb_hint_unsafe")


def _python_roots() -> list[str]:
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    for name in ("gradcoach", "gradcoach_languages"):  # the package and the languages module it imports
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            roots.add(os.path.realpath(list(spec.submodule_search_locations)[0]))
        elif spec and spec.origin:
            roots.add(os.path.realpath(spec.origin))
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


@lru_cache(maxsize=None)
def _bwrap_supports(option: str) -> bool:
    try:
        return option in subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True,
                                        text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False


#: what the zygote keeps when the grader runs as root: switching each kernel to its own uid, and
#: killing and deleting whatever a kernel left behind. Kernels drop all of them (setuid).
ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


def _isolation_args(as_root: bool) -> list[str]:
    if as_root:  # privileged bwrap without a user namespace
        caps = [arg for cap in ROOT_CAPS for arg in ("--cap-add", cap)]
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-drop", "ALL", *caps]
    # Inside, the grader's own uid (never 0, so bwrap drops every capability); --disable-userns
    # (bwrap >= 0.8): no user namespaces of the student's own.
    uid = str(os.getuid() or 65534)
    return ["--unshare-all", "--unshare-user", "--uid", uid, "--gid", uid] + (
        ["--disable-userns"] if _bwrap_supports("--disable-userns") else [])


def bwrap_argv(kernel_dir: str, limits: Limits, env: dict[str, str], uid: int | None,
               info_fd: int | None = None) -> list[str]:
    """The bwrap prefix that runs a command in a fresh sandbox (``kernel_dir`` holds the
    sandbox's /etc/passwd and /etc/group)."""
    args = [shutil.which("bwrap") or "bwrap", *_isolation_args(uid is not None),
            "--die-with-parent", "--new-session", "--clearenv", "--hostname", "grader"]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    # The private /tmp comes first: a checkout (and its .venv) may itself live under /tmp, and
    # the read-only binds below must land on top of it, not be hidden by it.
    args += ["--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    roots = _python_roots()
    # bwrap would create missing parents of mount points as 0700 (root mode): make them 0755.
    parents = sorted({str(p) for path in [*roots, MOUNT_POINT, "/etc/passwd"]
                      for p in Path(path).parents} - {"/"})
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    args += _system_args()
    for root in roots:
        args += ["--ro-bind", root, root]
    args += ["--ro-bind", str(INSIDE), MOUNT_POINT,
             "--ro-bind", os.path.join(kernel_dir, "passwd"), "/etc/passwd",
             "--ro-bind", os.path.join(kernel_dir, "group"), "/etc/group",
             "--proc", "/proc", "--dev", "/dev",
             "--chdir", "/tmp"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def kernel_env(lang: str, home: str) -> dict[str, str]:
    """The kernel's whole environment (bwrap starts from an empty one). The zygote replaces
    ``{home}`` by each kernel's own home."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "USER": "student", "LOGNAME": "student",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp", "MPLCONFIGDIR": f"{home}/.config/matplotlib",
           "IPYTHONDIR": f"{home}/.ipython", "JUPYTER_RUNTIME_DIR": f"{home}/.runtime",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "GRADCOACH_LANG": lang}
    if os.environ.get("NBGRADER_EXECUTION"):
        env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
    return env


def _write_identity(kernel_dir: str, uid: int) -> None:
    Path(kernel_dir, "passwd").write_text(f"student:x:{uid}:{uid}:student:{HOME}:/usr/sbin/nologin\n")
    Path(kernel_dir, "group").write_text(f"student:x:{uid}:\n")


@lru_cache(maxsize=None)
def probe() -> Text | None:
    """None when a sandbox can be created here, else what went wrong (a message; ``str()`` is English;
    cached per process)."""
    if shutil.which("bwrap") is None:
        return Text("sb_no_bwrap")
    kernel_dir = tempfile.mkdtemp(prefix="ag-")
    try:
        _write_identity(kernel_dir, os.getuid())
        argv = bwrap_argv(kernel_dir, Limits(), {"PATH": "/usr/bin:/bin"}, ROOT_UID_BASE if root_mode() else None)
        probe_code = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=1)"
        proc = subprocess.run([*argv, sys.executable, "-I", "-c", probe_code], capture_output=True, text=True,
                              timeout=60)
        if "Network is unreachable" not in proc.stderr and "OSError" not in proc.stderr:
            problem = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            if proc.returncode == 0:
                return Text("sb_network")
            return Text("sb_bwrap_failed", detail=problem[0])
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return Text("sb_bwrap_failed", detail=exc)
    finally:
        shutil.rmtree(kernel_dir, ignore_errors=True)


def require_sandbox() -> None:
    problem = probe()
    if problem:
        raise SandboxUnavailable(problem)


class Zygote:
    """The grader's side of inside/zygote.py: one sandbox per worker process and kernel role, one
    fork per kernel.

    Kernels of the same worker and role run one after another in their sandbox; after each one
    :meth:`reset` kills what it left running and empties /tmp and /dev/shm.
    """

    _instances: dict[str, "Zygote"] = {}

    def __init__(self, limits: Limits, lang: str):
        self.limits, self.lang = limits, lang
        self.root_mode = root_mode()
        self.run_dir = tempfile.mkdtemp(prefix="ag-")
        _write_identity(self.run_dir, ROOT_UID_BASE if self.root_mode else os.getuid())
        self.log = tempfile.TemporaryFile()
        read_end, write_end = os.pipe()
        env = kernel_env(lang, HOME)
        argv = bwrap_argv(self.run_dir, limits, env, ROOT_UID_BASE if self.root_mode else None, info_fd=write_end)
        try:
            self.process = subprocess.Popen(
                [*argv, sys.executable, "-I", "-B", f"{MOUNT_POINT}/zygote.py"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.log, pass_fds=(write_end,), text=True, bufsize=1,
                start_new_session=True)
        finally:
            os.close(write_end)
        try:
            self.sandbox_pid = _read_child_pid(read_end)
        finally:
            os.close(read_end)
        ready = self._read(timeout=120)
        if self.sandbox_pid is None or not ready.get("ready"):
            raise RuntimeError(f"the sandbox did not start: {self.log_tail() or ready}")
        self.host_pid = _host_pid(self.sandbox_pid, ready["pid"]) or self.sandbox_pid
        self.root = f"/proc/{self.host_pid}/root"
        self._on_close: list = []
        # bwrap has bind-mounted passwd/group by now: the directory is not needed any more. Removing
        # it here, not at exit, matters: pool workers end without running atexit handlers.
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def on_close(self, callback) -> None:
        """Call ``callback`` when this zygote is closed (once, however often it is registered)."""
        if callback not in self._on_close:
            self._on_close.append(callback)

    def close(self) -> None:
        while self._on_close:
            self._on_close.pop()()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):  # a dead zygote's stdin: closing flushes into a broken pipe
                stream.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    @classmethod
    def close_all(cls) -> None:
        """Stop this process's zygotes (also run at exit; they die with us anyway)."""
        while cls._instances:
            cls._instances.popitem()[1].close()

    @classmethod
    def get(cls, limits: Limits, lang: str, role: str = "student") -> "Zygote":
        """This process's zygote for kernels of ``role``: the checkers have a sandbox of their own
        (another PID, mount and IPC namespace than the students' kernels: a student's kernel can
        neither see, signal nor read a checker, whatever the uids)."""
        key = json.dumps([asdict(limits), lang, root_mode(), role])
        zygote = cls._instances.get(key)
        if zygote is None or not zygote.alive():
            if zygote is not None:
                zygote.close()
            if not cls._instances:
                atexit.register(cls.close_all)
            zygote = cls._instances[key] = cls(limits, lang)
        return zygote

    def alive(self) -> bool:
        """Whether the zygote itself still runs: bwrap, the process we started, outlives it for a
        moment (a kernel in a sandbox whose grader is not root shares the zygote's uid and can kill
        it), and a request in that moment would fail the next notebook for nothing."""
        if self.process.poll() is not None:
            return False
        try:
            with open(f"/proc/{self.host_pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def _read(self, timeout: float = 60) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else {}

    def request(self, **cmd) -> dict:
        try:
            self.process.stdin.write(json.dumps(cmd) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            return {"error": "the sandbox has stopped"}
        return self._read() or {"error": "the sandbox has stopped"}

    def spawn(self, connection: dict, boot: dict, env: dict, extra: list[str]) -> tuple[int, int, str]:
        reply = self.request(cmd="spawn", connection=connection, boot=boot, env=env, extra=extra)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        host = None
        deadline = time.monotonic() + 10
        while host is None and time.monotonic() < deadline:
            host = _host_pid(self.host_pid, reply["pid"])
            if host is None:
                time.sleep(0.005)
        if host is None:
            raise RuntimeError("the kernel process vanished at start")
        return reply["pid"], host, reply["dir"]

    def status(self, pid: int) -> int | None:
        reply = self.request(cmd="status", pid=pid)
        if "error" in reply:
            return -9
        return reply.get("status") if reply.get("known") else None

    def reset(self) -> None:
        self.request(cmd="reset")

    def log_tail(self, limit: int = 2000) -> str:
        return _tail(self.log, limit)


def _read_child_pid(fd: int, timeout: float = 60.0) -> int | None:
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


def _tail(fh, limit: int) -> str:
    try:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        data = fh.read()
        return (data.decode("utf-8", "replace") if isinstance(data, bytes) else data).strip()
    except (OSError, ValueError):
        return ""


def _host_pid(ancestor: int, ns_pid: int) -> int | None:
    """The host pid of the process that is ``ns_pid`` inside the sandbox, searched from host pid
    ``ancestor`` down (the last NSpid field is a process's pid in its innermost namespace)."""
    todo, seen = [ancestor], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as fh:
                nspid = next((line.split() for line in fh if line.startswith("NSpid:")), None)
            if nspid and int(nspid[-1]) == ns_pid and len(nspid) > 2:
                return pid
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return None


class ZygoteProcess:
    """What jupyter_client's LocalProvisioner expects of a Popen, for a kernel forked by the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, ns_pid: int, host_pid: int):
        self.zygote, self.ns_pid, self.pid = zygote, ns_pid, host_pid
        self.returncode: int | None = None

    def _gone(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/status") as fh:
                for line in fh:
                    if line.startswith("State:"):
                        return line.split()[1] in ("Z", "X")
        except OSError:
            return True
        return False

    def poll(self) -> int | None:
        if self.returncode is None and self._gone():
            for _ in range(100):
                status = self.zygote.status(self.ns_pid)
                if status is not None:
                    self.returncode = status
                    break
                time.sleep(0.01)
            else:
                self.returncode = -9
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)  # the kernel leads its own session (setsid in the zygote)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is forked by the worker's sandboxed zygote (or, with
    ``sandbox: False``, started directly), reached over IPC sockets.

    The kernel binds its sockets in the sandbox's private /tmp; the grader connects through
    ``/proc/<zygote>/root``, so no host directory is writable from inside. Configured through
    traitlets (``SandboxKernelManager.settings``: :meth:`KernelSettings.to_config`).
    """

    settings = Dict(config=True, help="KernelSettings.to_config()")
    kernel_dir = Unicode()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_dir = tempfile.mkdtemp(prefix="ag-")
        self.transport = "ipc"
        self.ip = os.path.join(self.kernel_dir, "k")
        self.connection_file = os.path.join(self.kernel_dir, "kernel.json")
        self.uid = (ROOT_UID_BASE + 1 + secrets.randbelow(10**8)) if root_mode() else None
        self.stderr_log = None  # the kernel's stderr without the sandbox (with it: kernel.log in its /tmp)
        self.zygote: Zygote | None = None
        self._sandbox_spec = KernelSpec(
            argv=[sys.executable, "-I", "-B", str(INSIDE / "boot.py"), "-f", "{connection_file}"],
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
    def kernel_settings(self) -> KernelSettings:
        return KernelSettings.from_config(self.settings)

    @property
    def sandboxed(self) -> bool:
        return self.kernel_settings.sandbox

    @property
    def limits(self) -> Limits:
        return self.kernel_settings.limits

    def boot_config(self) -> dict:
        return self.kernel_settings.boot(self.uid, os.path.join(self.kernel_dir, "home"))

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        boot = self.boot_config()
        if not self.sandboxed:
            env = {**os.environ, **kernel_env(boot["lang"], boot["home"]), "AUTOGRADE_BOOT": json.dumps(boot)}
            env.pop("TMPDIR")
            self.stderr_log = tempfile.TemporaryFile()
            kw.update(cwd=self.kernel_dir, stdout=subprocess.DEVNULL, stderr=self.stderr_log, env=env)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        # Started from this (the worker's main) thread: bwrap --die-with-parent follows the thread
        # that started it, so a zygote started from an executor thread would die with that thread.
        self.zygote = Zygote.get(self.limits, boot["lang"], self.kernel_settings.role)
        loop = asyncio.get_running_loop()
        extra = kernel_cmd[kernel_cmd.index("-f") + 2:]
        connection = {k: v for k, v in self.get_connection_info().items() if k != "ip"}
        connection["key"] = connection["key"].decode() if isinstance(connection["key"], bytes) else connection["key"]
        ns_pid, host_pid, kdir = await loop.run_in_executor(
            None, self.zygote.spawn, connection, boot, kernel_env(boot["lang"], "{home}"), extra)
        self.provisioner.process = ZygoteProcess(self.zygote, ns_pid, host_pid)
        self.provisioner.pid, self.provisioner.pgid = host_pid, None
        self.kernel_dir_inside = kdir
        self.ip = f"{self.zygote.root}{kdir}/k"
        self.provisioner.connection_info = self.get_connection_info()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)
            if self.zygote is not None:
                self.zygote.reset()  # kills what the kernel left and empties its sandbox's /tmp
            if self.stderr_log is not None:
                self.stderr_log.close()

    cleanup_resources = _async_cleanup_resources

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # jupyter_client polls a killed kernel every 0.1 s; a forked kernel is gone within milliseconds
        await super()._async_wait(pollinterval=0.01 if self.zygote is not None else pollinterval)

    def bridge_address(self) -> str:
        """Where the grader connects to a checker's requests (a socket in its private directory)."""
        kdir = getattr(self, "kernel_dir_inside", None)
        if self.zygote is not None and kdir:
            return f"ipc://{self.zygote.root}{kdir}/bridge"
        return f"ipc://{os.path.join(self.kernel_dir, 'bridge')}"

    def exit_status(self) -> int | None:
        """How the kernel ended (a negative number: killed by that signal), None while it runs."""
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the kernel (or the sandbox) wrote to stderr."""
        if self.zygote is not None:
            kdir = getattr(self, "kernel_dir_inside", None)
            if kdir:
                try:
                    with open(f"{self.zygote.root}{kdir}/kernel.log", "rb") as fh:
                        return _tail(fh, limit)
                except OSError:
                    pass
            return self.zygote.log_tail(limit)
        return _tail(self.stderr_log, limit) if self.stderr_log is not None else ""

