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
checker process) shows what the checker costs per notebook (target ≤ 20 %).
Every configuration runs ``BENCH_REPEATS`` times (default 3), taking turns so that a change in the
load of a shared machine falls on all of them alike; the table gives each median and every run, and
the ratios are ratios of the medians. An embedded cluster's start is part of its time.
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
#: rounds of every configuration (medians are reported); BENCH_REPEATS=1 for a quick look
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CONFIGS = ("stock", "one", "two", "external", "no_checker", "full")


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


def setup(workdir: Path, students: int = STUDENTS):
    """An autograde course with ``students`` × 2 submissions, and a stock nbgrader course with the same files."""
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
        for k in range(students):
            student = f"b{k:03d}"
            nb = student_notebook(release_nb, source_nb, PROFILES[k % len(PROFILES)])
            for base in (course.root, stock):
                path = base / "submitted" / student / lesson / f"{lesson}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
            pairs.append((student, lesson))
    course.save()
    return course, stock, lessons, pairs


def run() -> str:
    from autograde.cluster import cli_cluster
    from autograde.grade import default_workers, grade
    from autograde.sandbox import probe

    problem = probe()
    if problem:
        return f"Skipped: the grading sandbox is not available here ({problem})."
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    differ: list[str] = []
    same_split = 0
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, stock, lessons, pairs = setup(Path(tmp))
        n = len(pairs)

        def stock_run() -> dict:
            for lesson in lessons:
                subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lesson, "--force",
                                "--log-level=ERROR"], cwd=stock, check=True, capture_output=True)
            return _scores(f"sqlite:///{stock / 'gradebook.db'}", "bench", pairs)

        def step(feedback: bool = False, **where) -> dict:
            grade(course, force=True, progress=False, feedback=feedback, log=lambda *_: None, **where)
            return _scores(course.db_url, "autograd-course", pairs)

        def no_checker() -> dict:
            os.environ["AUTOGRADE_CHECKER"] = "0"  # the test cells in the student's kernel, as before issue 11
            try:
                return step(workers=2)
            finally:
                os.environ.pop("AUTOGRADE_CHECKER")

        # the configurations take turns, REPEATS rounds, so that a change in the shared machine's load
        # falls on all of them alike; the external cluster is started once (its start-up is not timed)
        with cli_cluster(Path(tmp) / "dask", workers=2) as (address, _):
            runs = {"stock": stock_run, "one": lambda: step(workers=1), "two": lambda: step(workers=2),
                    "external": lambda: step(scheduler=address), "no_checker": no_checker,
                    "full": lambda: step(feedback=True)}
            for _ in range(REPEATS):
                scores = {}
                for name in CONFIGS:
                    start = time.perf_counter()
                    scores[name] = runs[name]()
                    times[name].append(time.perf_counter() - start)
                    print(f"  round {len(times[name])}: {name} {times[name][-1]:.0f} s", file=sys.stderr, flush=True)
                differ += [f"{name} {s}/{a}: {scores[name][(s, a)]} (stock {scores['stock'][(s, a)]})"
                           for name in CONFIGS if name != "no_checker" for s, a in pairs
                           if scores[name][(s, a)] != scores["stock"][(s, a)]]
                same_split += sum(scores["no_checker"][p] == scores["two"][p] for p in pairs)

    workers = default_workers()
    med = {name: statistics.median(values) for name, values in times.items()}
    rate = lambda seconds: n / seconds * 60  # noqa: E731
    label = {"stock": "stock `nbgrader autograde` (1 process, no sandbox)",
             "one": "autograde step, embedded Dask, 1 worker (sandboxed)",
             "two": "autograde step, embedded Dask, 2 workers",
             "external": "autograde step, external `dask scheduler`, 2 `dask worker`",
             "full": f"full pipeline ({workers} workers, + feedback, grades.csv, report)",
             "no_checker": "autograde step, 2 workers, test cells in the student's kernel (no checker)"}
    lines = [f"| pipeline | notebooks | median of {REPEATS} | runs | notebooks/min | vs stock |",
             "|---|---:|---:|---:|---:|---:|"]
    for name in ("stock", "one", "two", "external", "full", "no_checker"):
        runs_s = ", ".join(f"{v:.0f}" for v in times[name])
        lines.append(f"| {label[name]} | {n} | {med[name]:.0f} s | {runs_s} s | {rate(med[name]):.1f} | "
                     f"{med['stock'] / med[name]:.1f}× |")
    lines.append("")
    split = med["two"] / med["no_checker"] - 1
    same = n * REPEATS * (len(CONFIGS) - 1) - len(differ)
    verdict = "met" if med["stock"] / med["two"] >= TARGET and not differ else "NOT met"
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"Ratios of the medians: 2 workers vs 1 (embedded) {med['one'] / med['two']:.2f}× (linear: 2×); "
                 f"external scheduler vs embedded, 2 workers each: {med['two'] / med['external']:.2f}×. "
                 f"Identical scores to stock: {same} of {n * REPEATS * (len(CONFIGS) - 1)} (every run). "
                 f"Target ≥ {TARGET:.0f}× stock with identical scores: {verdict}. "
                 f"Lessons {', '.join(lessons)}; Python {platform.python_version()}, {workers} CPUs "
                 f"(load average {load_start:.1f} at the start, {load_end:.1f} at the end).")
    lines.append(f"Cost of the checker process: {split * 100:+.0f} % per notebook (target ≤ +{SPLIT_TARGET * 100:.0f} %: "
                 f"{'met' if split <= SPLIT_TARGET and same_split == n * REPEATS else 'NOT met'}); identical scores "
                 f"with and without it: {same_split} of {n * REPEATS}.")
    if differ:
        lines.append("Differences: " + ", ".join(differ[:20]))
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
