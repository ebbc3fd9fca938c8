"""Benchmark: grading throughput of autograde on Dask vs stock `nbgrader autograde` on the same 40 submissions (target ≥ 2×, identical scores, linear in workers).

Both grade the same clean submissions of lessons 01 and 02 (20 synthetic students: correct,
partial, wrong, erroring and unanswered answers, built by autograde/sample_class from the
solutions) in the same run. Stock is `nbgrader autograde <lesson>` as nbgrader ships it: one
process, no sandbox, a fresh kernel per notebook. autograde runs with its defaults: one worker per
core, every kernel in the bubblewrap sandbox. "autograde step" is the same work as stock
(autograde into the gradebook), run on the embedded Dask cluster with 1 and with 2 workers and on
an external scheduler with 2 `dask worker` processes (started from the CLI on loopback, as on real
machines; cluster start-up is not timed); "full pipeline" adds the HTML feedback, grades.csv and
the report.
The same step with the test cells in the student's kernel (``AUTOGRADE_CHECKER=0``, as before the
checker process) shows what the checker costs per notebook (target ≤ 20 %): both are run
``SPLIT_ROUNDS`` times, alternating, and compared by their medians (the machine is shared).
``python tools/bench_grading.py --split-only`` runs only that comparison.
"""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROFILES = ("correct", "partial", "wrong", "error", "unanswered")
STUDENTS = 20
TARGET = 2.0
SPLIT_TARGET = 0.20
SPLIT_ROUNDS = 3


def _lessons() -> Path:
    from autograde.course import lesson_sources

    solutions = ROOT / "solutions" / "en"
    if len([n for n in lesson_sources(solutions) if n[:2] in ("01", "02")]) == 2:
        return solutions
    return ROOT / "tests" / "fixtures" / "autograde" / "solutions" / "en"


def _scores(db_url: str, course_id: str, pairs) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(db_url, course_id) as gb:
        for student, assignment in pairs:
            try:
                scores[(student, assignment)] = gb.find_submission_notebook(assignment, assignment, student).score
            except MissingEntry:
                scores[(student, assignment)] = None
    return scores


def setup(workdir: Path):
    """An autograde course with the submissions, and a stock nbgrader course with the same files."""
    import nbformat

    from autograde.course import Course, lesson_sources, release
    from autograde.sample_class import student_notebook

    source = _lessons()
    lessons = sorted(n for n in lesson_sources(source) if n[:2] in ("01", "02"))
    course = Course(workdir / "autograde")
    release(course, source, "en", lessons, log=lambda *_: None)
    stock = workdir / "stock"
    (stock / "source").mkdir(parents=True)
    (stock / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'bench'\n")
    pairs = []
    for lesson in lessons:
        shutil.copytree(course.path("source", lesson), stock / "source" / lesson)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", lesson, "--create", "--force",
                        "--log-level=ERROR"], cwd=stock, check=True, capture_output=True)
        release_nb = nbformat.read(course.release_notebook(lesson), as_version=4)
        source_nb = nbformat.read(course.source_notebook(lesson), as_version=4)
        for k in range(STUDENTS):
            student = f"b{k:03d}"
            nb = student_notebook(release_nb, source_nb, PROFILES[k % len(PROFILES)])
            for base in (course.root, stock):
                path = base / "submitted" / student / lesson / f"{lesson}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
            pairs.append((student, lesson))
    course.save()
    return course, stock, lessons, pairs


def _split(step) -> tuple[float, float, list, list, dict, dict]:
    """The step with the checker and without it (``AUTOGRADE_CHECKER=0``), alternating,
    ``SPLIT_ROUNDS`` times each, on the embedded cluster with 2 workers: their medians."""
    with_checker, without = [], []
    for _ in range(SPLIT_ROUNDS):
        seconds, step_scores = step(workers=2)
        with_checker.append(seconds)
        os.environ["AUTOGRADE_CHECKER"] = "0"  # the test cells in the student's kernel, as before issue 11
        try:
            seconds, inproc_scores = step(workers=2)
        finally:
            os.environ.pop("AUTOGRADE_CHECKER")
        without.append(seconds)
    return statistics.median(with_checker), statistics.median(without), with_checker, without, step_scores, inproc_scores


def _split_line(step_s: float, inproc_s: float, runs: list, inproc_runs: list, same_split: int, n: int) -> str:
    split = step_s / inproc_s - 1
    seconds = lambda runs: ", ".join(f"{s:.0f}" for s in runs)  # noqa: E731
    return (f"Cost of the checker process: {split * 100:+.0f} % per notebook (medians of {len(runs)} alternating "
            f"runs, 2 workers: {step_s:.1f} s with it [{seconds(runs)}], {inproc_s:.1f} s without [{seconds(inproc_runs)}]; "
            f"target ≤ +{SPLIT_TARGET * 100:.0f} %: {'met' if split <= SPLIT_TARGET and same_split == n else 'NOT met'}); "
            f"identical scores with and without it: {same_split} of {n}.")


def run(split_only: bool = False) -> str:
    from autograde.cluster import cli_cluster
    from autograde.grade import default_workers, grade
    from autograde.sandbox import probe

    problem = probe()
    if problem:
        return f"Skipped: the grading sandbox is not available here ({problem})."
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, stock, lessons, pairs = setup(Path(tmp))
        n = len(pairs)

        def step(**where) -> tuple[float, dict]:
            start = time.perf_counter()
            grade(course, force=True, progress=False, feedback=False, log=lambda *_: None, **where)
            return time.perf_counter() - start, _scores(course.db_url, "autograd-course", pairs)

        if split_only:
            step_s, inproc_s, runs, inproc_runs, step_scores, inproc_scores = _split(step)
            same_split = sum(inproc_scores[p] == step_scores[p] for p in pairs)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            return (_split_line(step_s, inproc_s, runs, inproc_runs, same_split, n)
                    + f" Lessons {', '.join(lessons)}; load average {load:.1f} at the end.")

        start = time.perf_counter()
        for lesson in lessons:
            subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lesson, "--log-level=ERROR"], cwd=stock,
                           check=True, capture_output=True)
        stock_s = time.perf_counter() - start
        stock_scores = _scores(f"sqlite:///{stock / 'gradebook.db'}", "bench", pairs)

        one_s, one_scores = step(workers=1)
        with cli_cluster(Path(tmp) / "dask", workers=2) as (address, _):
            ext_s, ext_scores = step(scheduler=address)
        step_s, inproc_s, runs, inproc_runs, step_scores, inproc_scores = _split(step)

        start = time.perf_counter()
        grade(course, force=True, progress=False, feedback=True, log=lambda *_: None)
        full_s = time.perf_counter() - start
        full_scores = _scores(course.db_url, "autograd-course", pairs)

    workers = default_workers()
    same = sum(stock_scores[p] == one_scores[p] == step_scores[p] == ext_scores[p] == full_scores[p] for p in pairs)
    rate = lambda seconds: n / seconds * 60  # noqa: E731
    lines = ["| pipeline | notebooks | time | notebooks/min | vs stock |", "|---|---:|---:|---:|---:|",
             f"| stock `nbgrader autograde` (1 process, no sandbox) | {n} | {stock_s:.0f} s | {rate(stock_s):.1f} | 1.0× |",
             f"| autograde step, embedded Dask, 1 worker (sandboxed) | {n} | {one_s:.0f} s | {rate(one_s):.1f} | "
             f"{stock_s / one_s:.1f}× |",
             f"| autograde step, embedded Dask, 2 workers | {n} | {step_s:.0f} s | {rate(step_s):.1f} | "
             f"{stock_s / step_s:.1f}× |",
             f"| autograde step, external scheduler, 2 `dask worker` | {n} | {ext_s:.0f} s | {rate(ext_s):.1f} | "
             f"{stock_s / ext_s:.1f}× |",
             f"| full pipeline ({workers} workers, + feedback, grades.csv, report) | {n} | {full_s:.0f} s | {rate(full_s):.1f} | "
             f"{stock_s / full_s:.1f}× |",
             f"| autograde step, test cells in the student's kernel (no checker) | {n} | {inproc_s:.0f} s | "
             f"{rate(inproc_s):.1f} | {stock_s / inproc_s:.1f}× |", ""]
    same_split = sum(inproc_scores[p] == step_scores[p] for p in pairs)
    verdict = "met" if stock_s / step_s >= TARGET and same == n else "NOT met"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"2 workers vs 1: {one_s / step_s:.2f}× (linear: 2×). Identical scores: {same} of {n}. Target ≥ {TARGET:.0f}× stock with identical scores: {verdict}. "
                 f"Lessons {', '.join(lessons)}; Python {platform.python_version()}, {workers} CPUs, "
                 f"load average {load:.1f} at the end.")
    lines.append(_split_line(step_s, inproc_s, runs, inproc_runs, same_split, n))
    if same != n:
        lines.append("Differences: " + ", ".join(f"{s}/{a}: stock {stock_scores[(s, a)]} vs {step_scores[(s, a)]}"
                                               for s, a in pairs if stock_scores[(s, a)] != step_scores[(s, a)]))
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(split_only="--split-only" in sys.argv[1:]))
