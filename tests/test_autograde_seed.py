"""The seed gradebook a job carries is built without nbgrader's `alembic heads` subprocess (which
re-imports nbgrader: seconds per assignment, before any job can start), stamped as the course's is."""
from __future__ import annotations

import sqlite3

from autograde import dblock
from autograde.cluster import seed_gradebook

from _autograde import LESSON1, make_course


def test_the_seed_is_stamped_like_the_course_without_running_alembic(tmp_path, monkeypatch):
    import nbgrader.api
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    course = make_course(tmp_path / "course", sandbox=False)
    dblock.install(course.path(".autograde", "db.lock"))

    def no_subprocess():
        raise AssertionError("nbgrader ran `alembic heads` for the seed")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", no_subprocess)
    seed = seed_gradebook(course, LESSON1)
    with Gradebook(course.db_url, "autograd-course") as gb:
        stamp = gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        cells = sorted(c.name for nb in gb.find_assignment(LESSON1).notebooks for c in nb.grade_cells)
    with sqlite3.connect(":memory:") as db:
        db.deserialize(seed)
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(stamp,)]
        assert db.execute("SELECT COUNT(*) FROM student").fetchone() == (0,)
    (tmp_path / "seed.db").write_bytes(seed)
    with Gradebook(f"sqlite:///{tmp_path / 'seed.db'}", "autograd-course") as gb:
        assert sorted(c.name for nb in gb.find_assignment(LESSON1).notebooks for c in nb.grade_cells) == cells
