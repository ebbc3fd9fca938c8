"""The student's kernel, started inside the bubblewrap sandbox (see autograde/sandbox.py).

Order matters: resource limits first, then (when the grader runs as root) an unprivileged uid of
the kernel's own, no new privileges, the snapshots of autograde_guard once the kernel is
initialised, and only then the kernel loop that runs student code. Standard library and ipykernel
only: this file is mounted read-only at /opt/autograde and never imports the grader.
"""
import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_NO_NEW_PRIVS = 38


def _limit(cfg: dict) -> None:
    for name, value in cfg.get("rlimits", {}).items():
        soft, hard = value if isinstance(value, list) else (value, value)
        resource.setrlimit(getattr(resource, name), (soft, hard))
    # A file over RLIMIT_FSIZE should fail the write (an OSError the student sees), not kill the kernel.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _drop_privileges(cfg: dict) -> None:
    uid = cfg.get("uid")
    home = cfg["home"]
    os.makedirs(home, exist_ok=True)
    if uid is not None and os.getuid() == 0:
        os.chmod("/tmp", 0o1777)
        os.chown(home, uid, uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    os.makedirs(cfg["sockets"], mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(home, "work"), exist_ok=True)
    os.chdir(os.path.join(home, "work"))


def main() -> None:
    cfg = json.loads(os.environ.pop("AUTOGRADE_BOOT"))
    _limit(cfg)
    _drop_privileges(cfg)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import autograde_guard
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    autograde_guard.install(cfg, app.shell)
    app.start()


if __name__ == "__main__":
    main()
