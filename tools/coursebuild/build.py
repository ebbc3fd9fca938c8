"""Build every lesson into its six notebooks, compare them with a tree, write them without partial results."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .compose import FORMS, compose, notebook_path, serialize
from .config import LANGUAGES, CourseConfig
from .lesson import LessonError, display_path, read_lesson
from .student import student_form

LESSON_GLOB = "[0-9][0-9]_*.md"
GENERATED_GLOB = "[0-9][0-9]_*.ipynb"
TMP_PREFIX = ".build-notebooks-"


def find_lessons(lessons_dir: Path, only: str | None = None) -> list:
    """The lesson files ``NN_slug.md`` in ``lessons_dir``; ``only`` picks one by number or stem."""
    paths = sorted(Path(lessons_dir).glob(LESSON_GLOB))
    if only is None:
        return paths
    key = Path(only).stem
    chosen = [p for p in paths if key in (p.stem, p.stem.split("_", 1)[0])]
    if not chosen:
        names = ", ".join(p.stem for p in paths) or "none"
        raise LessonError([f"{display_path(Path(lessons_dir))}: no lesson {only!r} (lessons: {names})"])
    return chosen


def build(paths: list, config: CourseConfig) -> dict:
    """``{relative path: notebook bytes}`` for the lessons at ``paths``, in memory.

    Raises :class:`LessonError` with every broken rule of every lesson before building anything.
    """
    messages, lessons = [], []
    for path in paths:
        try:
            lessons.append(read_lesson(path))
        except LessonError as exc:
            messages.extend(exc.messages)
    if messages:
        raise LessonError(messages)
    outputs = {}
    for lesson in lessons:
        for lang in LANGUAGES:
            source_nb = compose(lesson, lang, "solutions", config)
            outputs[notebook_path("solutions", lang, lesson.stem)] = serialize(source_nb)
            try:
                student = student_form(compose(lesson, lang, "notebooks", config), config.text(lang, "code_stub"))
            except Exception as exc:  # nbgrader's preprocessors raise RuntimeError/ValidationError
                raise LessonError([f"{display_path(lesson.path)}: nbgrader refused the {lang} student form: "
                                   f"{exc}"]) from None
            outputs[notebook_path("notebooks", lang, lesson.stem)] = serialize(student)
    return outputs


def generated_files(dest: Path) -> set:
    """Relative paths of the generated notebooks already in ``dest``."""
    found = set()
    for form in FORMS:
        for lang in LANGUAGES:
            for path in (Path(dest) / form / lang).glob(GENERATED_GLOB):
                found.add(path.relative_to(dest).as_posix())
    return found


def differences(outputs: dict, dest: Path, prune: bool) -> list:
    """``(relative path, why)`` for each file of ``dest`` that differs from ``outputs``.

    With ``prune``, generated notebooks whose lesson is gone count as stale too.
    """
    dest = Path(dest)
    found = []
    for rel, data in sorted(outputs.items()):
        target = dest / rel
        if not target.exists():
            found.append((rel, "missing"))
        elif target.read_bytes() != data:
            found.append((rel, "out of date"))
    if prune:
        found += [(rel, "no lesson builds it") for rel in sorted(generated_files(dest) - set(outputs))]
    return found


def write(outputs: dict, dest: Path, prune: bool) -> list:
    """Write what changed into ``dest`` (files that are already identical are left alone).

    Everything is first written to a temporary folder inside ``dest`` and then moved into place, so
    a failure leaves no half-written notebook. Returns the ``(relative path, why)`` pairs changed.
    """
    dest = Path(dest)
    changes = differences(outputs, dest, prune)
    if not changes:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=dest))
    try:
        staged = []
        for rel, _why in changes:
            if rel in outputs:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_bytes(outputs[rel])
                staged.append(rel)
        for rel in staged:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, dest / rel)
        for rel, _why in changes:
            if rel not in outputs:
                (dest / rel).unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return changes
