"""One writer at a time: a cross-process lock around every nbgrader Gradebook session.

nbgrader opens the gradebook in many places (the converters, OverwriteCells, SaveAutoGrades,
GetGrades), always as ``Gradebook(url)`` ... ``close()``. Parallel workers would otherwise race for
SQLite's write lock (``database is locked``) or interleave their sessions. :func:`install` wraps
``Gradebook.__init__`` and ``Gradebook.close`` so that each session holds an exclusive ``flock``
on a lock file in the course directory; sessions are short (one notebook's cells), so workers
wait milliseconds while their kernels run in parallel. Works the same for PostgreSQL URLs.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

_state = {"path": None, "fd": None, "depth": 0}


def _acquire() -> None:
    if _state["depth"] == 0:
        fd = os.open(_state["path"], os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _state["fd"] = fd
    _state["depth"] += 1


def _release() -> None:
    _state["depth"] -= 1
    if _state["depth"] == 0:
        fd, _state["fd"] = _state["fd"], None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def install(lock_path: Path) -> None:
    """Serialise this process's gradebook sessions with every other process using ``lock_path``."""
    from nbgrader.api import Gradebook

    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    _state["path"] = str(lock_path)
    if getattr(Gradebook, "_autograde_locked", False):
        return
    original_init, original_close = Gradebook.__init__, Gradebook.close

    def __init__(self, *args, **kwargs):
        _acquire()
        try:
            original_init(self, *args, **kwargs)
        except BaseException:
            _release()
            raise
        self._autograde_holds_lock = True

    def close(self):
        try:
            original_close(self)
        finally:
            if self.__dict__.pop("_autograde_holds_lock", False):
                _release()

    Gradebook.__init__ = __init__
    Gradebook.close = close
    Gradebook._autograde_locked = True


class session:
    """``with dblock.session(): ...`` — hold the lock around several gradebook calls of our own."""

    def __enter__(self):
        _acquire()
        return self

    def __exit__(self, *exc):
        _release()
