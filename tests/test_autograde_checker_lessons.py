"""Every lesson grades through the checker process as its test cells judge answers in one process.

The mutation suite (tests/mutation_cases.py) holds, per exercise, beginner mistakes its test must
fail and differently written correct answers it must pass, judged in one process (tests/_mutation.py).
Here the released lessons are graded for real, test cells in the checker, student functions in the
student's kernel: notebook k of a lesson answers every exercise with its k-th case, and each test
cell must score full marks exactly when that case is a correct one.
"""
from __future__ import annotations

import re

import pytest
from mutation_cases import CASES, R, W

from autograde.course import Course, release
from autograde.grade import grade
from autograde.sandbox import probe
from coursebuild.config import load_config

from _autograde import ROOT, report, student_notebook, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]


def _cases(lesson: str) -> list[dict]:
    """Notebook k: exercise -> (answer source, whether it is correct)."""
    exercises = CASES[lesson]
    count = max(len(c[W]) + len(c[R]) for c in exercises.values())
    out = []
    for k in range(count):
        chosen = {}
        for ex, cases in exercises.items():
            every = [(src, False) for src, _fragment in cases[W]] + [(src, True) for src in cases[R]]
            chosen[ex] = every[k % len(every)]
        out.append(chosen)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every lesson's case notebooks submitted and graded in one batch (one cluster and zygote start
    for all of them, instead of one per lesson); ``(report rows, expected)`` with expected
    ``{(student, lesson): {test cell: whether it must score full marks}}``."""
    course = Course(tmp_path_factory.mktemp("lessons") / "course")
    release(course, ROOT / "solutions" / "en", "en", log=lambda *_: None)
    expected = {}
    for lesson in CASES:
        for k, chosen in enumerate(_cases(lesson)):
            student = f"s{k:02d}"
            answers = {f"{ex}_answer": src for ex, (src, _right) in chosen.items()}
            submit(course, student, lesson, student_notebook(course, lesson, answers))
            expected[student, lesson] = {f"{ex}_test": right for ex, (_src, right) in chosen.items()}
    for lesson in PATCHED:
        wrong = {f"{ex}_answer": cases[W][0][0] for ex, cases in CASES[lesson].items()}
        submit(course, "patcher", lesson, student_notebook(
            course, lesson, {k: (PATCH_IN_PLACE if k == "ex1_answer" else "") + v for k, v in wrong.items()}))
    grade(course, assignments=list(CASES), workers=2, progress=False, log=lambda *_: None)
    return report(course), expected


# what beat the in-process guard (issue 11): gradcoach's checks changed in place, their code swapped
PATCH_IN_PLACE = ("import gradcoach\nimport gradcoach.rules\n\n\ndef _passes(*args, **kwargs):\n    return args[0] if args else None\n\n\n"
                  "for _module in (gradcoach, gradcoach.rules):\n"
                  "    for _name in ('assert_close', 'assert_grad', 'assert_type', 'assert_choice', 'answer', 'call'):\n"
                  "        try:\n            getattr(_module, _name).__code__ = _passes.__code__\n"
                  "        except (AttributeError, ValueError):\n            pass\n\n\n")


IN_KERNEL = load_config().in_kernel  # graded behind the guard instead: course.yml says why


# the lessons that were graded in the kernel before their objects could cross: 07's Value graphs go
# as snapshots, 08's modules and optimizers as mirrors
PATCHED = ("07_autograd_engine", "08_training")


@pytest.mark.parametrize("lesson", PATCHED)
def test_wrong_answers_score_nothing_with_gradcoach_patched_in_place(graded, lesson):
    """Lessons 07 and 08 run their tests in the checker (no longer in the student's kernel behind
    the guard): wrong answers whose notebook rewrote gradcoach's checks in its own kernel score nothing."""
    rows, _expected = graded
    row = rows[("patcher", lesson)]
    assert lesson not in IN_KERNEL
    assert row["status"] == "graded" and row["score"] == 0, row


def test_every_lesson_graded_in_the_kernel_says_why_and_exists():
    assert all(lesson in CASES and why.strip() for lesson, why in IN_KERNEL.items())


@pytest.mark.parametrize("lesson", list(CASES))
def test_checker_passes_exactly_the_correct_answers(graded, lesson):
    """For a lesson in course.yml's grading.in_kernel the same holds with its tests in the kernel."""
    rows, expected = graded
    for (student, of_lesson), tests in expected.items():
        if of_lesson != lesson:
            continue
        row = rows[(student, lesson)]
        scored = {m.group(1): m.group(2) == m.group(3)
                  for m in re.finditer(r"(\w+_test) ([\d.]+)/([\d.]+)", row["tests"])}
        assert scored == tests, (student, lesson, row)
