"""The student's kernel, started inside the bubblewrap sandbox (see autograde/sandbox.py).

Order matters: resource limits first, then (when the grader runs as root) an unprivileged uid of
the kernel's own, no new privileges, the snapshots of autograde_guard once the kernel is
initialised, and only then the kernel loop that runs student code. zygote.py forks kernels that
go through the same :func:`prepare` and :func:`run_kernel`. Standard library and ipykernel only:
this file is mounted read-only at /opt/autograde and never imports the grader.
"""
import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def prepare(cfg: dict) -> None:
    """Limits, identity and working directory of a kernel about to run student code."""
    for name, value in cfg.get("rlimits", {}).items():
        soft, hard = value if isinstance(value, list) else (value, value)
        resource.setrlimit(getattr(resource, name), (soft, hard))
    # A file over RLIMIT_FSIZE should fail the write (an OSError the student sees), not kill the kernel.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    home, uid = cfg["home"], cfg.get("uid")
    os.makedirs(os.path.join(home, "work"), exist_ok=True)
    if uid is not None and os.getuid() == 0:
        for path in (home, os.path.join(home, "work")):
            os.chown(path, uid, uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_DUMPABLE, 1)
    os.chdir(os.path.join(home, "work"))


def run_kernel(cfg: dict, argv: list) -> None:
    """Initialise ipykernel, then serve until shutdown. A student's kernel lets the guard take its
    snapshots and, while grading, installs the routine that answers the checker (bridge.py);
    the checker (role ``checker``, checker.py) gets a namespace that looks names up there."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import autograde_diagnosis
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    if cfg.get("role") == "checker":
        import checker

        app.user_ns = checker.Namespace()
        app.initialize(argv)
        autograde_diagnosis.install(app.shell)  # test cells run here: their diagnosis codes are recorded
        checker.install(cfg, app.shell)
        prctl(PR_SET_DUMPABLE, 0)  # not even a process of the same uid may ptrace or read it
        # Its key is in memory now: a student's kernel of the same uid (userns mode) finds no file.
        try:
            os.unlink(app.abs_connection_file)
        except OSError:
            pass
    else:
        import autograde_guard

        app.initialize(argv)
        autograde_diagnosis.install(app.shell)  # before the guard's snapshot, which then keeps it
        autograde_guard.install(cfg, app.shell)
        if cfg.get("call_entry"):
            import bridge

            bridge.install(app.shell, cfg["call_entry"])
    app.start()


def main() -> None:
    cfg = json.loads(os.environ.pop("AUTOGRADE_BOOT"))
    if cfg.get("sockets"):
        os.makedirs(cfg["sockets"], mode=0o700, exist_ok=True)
        if cfg.get("uid") is not None and os.getuid() == 0:
            os.chmod("/tmp", 0o1777)
            os.chown(cfg["sockets"], cfg["uid"], cfg["uid"])
    prepare(cfg)
    run_kernel(cfg, sys.argv[1:])


if __name__ == "__main__":
    main()
