"""Inside the grading sandbox: import the heavy modules once, then fork one kernel per notebook.

A grading worker starts one zygote in a sandbox of its own and talks to it over stdin/stdout
(one JSON object per line). ``spawn`` forks a kernel that goes through boot.prepare and
boot.run_kernel, so a kernel starts in milliseconds instead of re-importing torch, NumPy,
matplotlib, IPython and gradcoach. ``reset``, sent after every notebook, kills whatever that
notebook left running and empties /tmp and /dev/shm, so the next student starts from a clean
sandbox. The zygote never runs student code, is not dumpable (a kernel cannot ptrace it), and,
when the grader runs as root, each kernel gets a uid of its own.
"""
import json
import os
import shutil
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # python -I leaves it out
import boot  # noqa: E402

_statuses: dict = {}
_count = 0


def _reap(*_args) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _statuses[pid] = os.waitstatus_to_exitcode(status)


def _preload() -> None:
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import matplotlib  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import autograde_guard  # noqa: F401
    import bridge  # noqa: F401
    import checker  # noqa: F401
    import gradcoach  # noqa: F401
    import gradcoach.rules  # noqa: F401


def _child(cmd: dict, kdir: str, channel: tuple) -> None:
    os.setsid()
    boot._libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the zygote
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in channel:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(os.path.join(kdir, "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    cfg = cmd["boot"]
    os.environ.update({key: value.replace("{home}", cfg["home"]) for key, value in cmd["env"].items()})
    boot.prepare(cfg)
    boot.run_kernel(cfg, ["-f", os.path.join(kdir, "kernel.json"), *cmd.get("extra", [])])


def _spawn(cmd: dict, channel: tuple) -> dict:
    global _count
    _count += 1
    kdir = f"/tmp/.k{_count}"
    os.makedirs(kdir, mode=0o700)
    connection = dict(cmd["connection"], ip=f"{kdir}/k", transport="ipc")
    with open(os.path.join(kdir, "kernel.json"), "w") as fh:
        json.dump(connection, fh)
    uid = cmd["boot"].get("uid")
    cmd["boot"]["home"] = f"{kdir}/home"
    if cmd["boot"].get("role") == "checker":
        cmd["boot"]["bridge"] = f"{kdir}/bridge"
    if uid is not None and os.getuid() == 0:
        for path in (kdir, os.path.join(kdir, "kernel.json")):
            os.chown(path, uid, uid)
    pid = os.fork()
    if pid == 0:
        try:
            _child(cmd, kdir, channel)
        except BaseException:  # noqa: BLE001 - report, never fall back into the zygote's loop
            traceback.print_exc()
        finally:
            os._exit(1)
    return {"pid": pid, "dir": kdir}


def _reset() -> dict:
    """Kill everything but the zygote and the sandbox's init; empty the writable places."""
    me, killed = os.getpid(), 0
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            break
        for signum in (signal.SIGSTOP, signal.SIGKILL):  # stopped processes cannot fork any more
            for pid in others:
                try:
                    os.kill(pid, signum)
                    killed += signum == signal.SIGKILL
                except ProcessLookupError:
                    pass
        time.sleep(0.01)
        _reap()
    for base in ("/tmp", "/dev/shm"):
        for name in os.listdir(base):
            path = os.path.join(base, name)
            if path in _MOUNT_PARENTS:  # the read-only Python of a checkout that lives under /tmp
                continue
            for root, dirs, _ in os.walk(path):
                for d in dirs:
                    try:
                        os.chmod(os.path.join(root, d), 0o700)
                    except OSError:
                        pass
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    _statuses.clear()
    return {"killed": killed}


def _mount_parents() -> frozenset[str]:
    """Mount points under /tmp and their parents: a checkout (with its .venv) may live in /tmp,
    and the sandbox binds it there read-only; cleaning /tmp must leave that path alone."""
    keep = set()
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                point = line.split()[4]
                while point.startswith("/tmp/"):
                    keep.add(point)
                    point = os.path.dirname(point)
    except OSError:
        pass
    return frozenset(keep)


_MOUNT_PARENTS: frozenset[str] = frozenset()


def main() -> None:
    global _MOUNT_PARENTS
    _MOUNT_PARENTS = _mount_parents()
    # Replies go to a private copy of stdout; anything printed by imported modules goes to stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    commands = os.fdopen(os.dup(0), "r")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    channel = (replies.fileno(), commands.fileno())
    os.chmod("/tmp", 0o1777)
    _preload()
    boot.prctl(boot.PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGCHLD, _reap)
    replies.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in commands:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "spawn":
                reply = _spawn(cmd, channel)
            elif cmd["cmd"] == "status":
                _reap()
                reply = {"status": _statuses.get(cmd["pid"]), "known": cmd["pid"] in _statuses}
            elif cmd["cmd"] == "reset":
                reply = _reset()
            else:
                break
        except Exception as exc:  # noqa: BLE001 - the grader gets the error and carries on
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
