"""Benchmark: does grading scale past this machine's cores? Dask's dispatch and the coordinator with 1–16 workers.

A 2-core machine cannot show real grading scale past 2 workers, since the notebooks' kernels need
the cores. What could still stop the throughput growing with the number of workers is what the
workers share: the scheduler that hands out the jobs, and the coordinator that sends each job
and merges each result into the gradebook, autograded/ and the rows. This benchmark measures
those shared parts with the grading work itself taken out. It grades 80 submissions like the
grading benchmark's (40 students) once, for real, on the embedded cluster, and records every job's result and
how many seconds the worker took for it. Then the same batch runs through `grade()` on an
external `dask scheduler` with W `dask worker` processes (W = 1, 2, 4, 8, 16; start-up not
timed). Each worker replays its job's recorded result after sleeping for the job's recorded
seconds, so the workers need no cores, and the coordinator does its real work on real results.
If nothing shared is in the way, W workers take the batch's ideal time for W workers (the
recorded seconds, handed out in submission order to whichever worker is free first) plus a cost
per batch that does not depend on W; the scaling is linear when the time above ideal does not
grow with the number of workers.
"""
from __future__ import annotations

import heapq
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

WORKERS = (1, 2, 4, 8, 16)
#: students (each submits lessons 01 and 02): enough jobs that 16 workers get five each
STUDENTS = 40
#: rounds of every worker count (medians are reported)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
#: how much the time above ideal may grow from 1 to 16 workers (a share of the 16-worker ideal) and still count as linear
LINEAR_WITHIN = 0.15


def replay(job: dict) -> dict:
    """A worker's stand-in for ``run_job``: the recorded result, after the recorded time."""
    result = job["recorded"]
    time.sleep(result["seconds"])
    return result


def ideal(seconds: list[float], workers: int) -> float:
    """The batch's time on ``workers`` workers that lose no time between jobs: each job in turn
    goes to the worker that is free first (as the scheduler hands them out)."""
    free = [0.0] * workers
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def run() -> str:
    from bench_grading import setup

    import autograde.grade as grade_module
    from autograde.cluster import Cluster, cli_cluster
    from autograde.grade import grade
    from autograde.sandbox import probe

    problem = probe()
    if problem:
        return f"Skipped: the grading sandbox is not available here ({problem})."
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    tools = str(Path(__file__).resolve().parent)  # the dask processes import replay() from here
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (tools, os.environ.get("PYTHONPATH")) if p)
    load_start = os.getloadavg()[0]
    recorded: dict[str, dict] = {}
    coordinator: dict[str, float] = {"cpu": 0.0}
    order: list[float] = []  # the recorded seconds of the jobs, in the order grade() submits them

    class Recording(Cluster):
        def run(self, jobs, on_result, func=None):
            def keep(result):
                recorded[f"{result['student']}/{result['assignment']}"] = result
                on_result(result)
            super().run(jobs, keep)

    class Replaying(Cluster):
        def __init__(self, *args, warm=None, **kwargs):
            super().__init__(*args, warm=None, **kwargs)  # no sandbox to warm: the workers run no kernel

        def run(self, jobs, on_result, func=None):
            def merge(result):
                start = time.process_time()
                on_result(result)
                coordinator["cpu"] += time.process_time() - start
            jobs = list(jobs)
            order[:] = [recorded[f"{job['student']}/{job['assignment']}"]["seconds"] for job in jobs]
            super().run([{**job, "recorded": recorded[f"{job['student']}/{job['assignment']}"]} for job in jobs],
                        merge, func=replay)

    times: dict[int, list[float]] = {w: [] for w in WORKERS}
    cpu: list[float] = []  # the coordinator's CPU per notebook (all its threads), per run
    merge_cpu: list[float] = []  # of which merging the results
    same = checked = 0
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        course, _stock, _lessons, pairs = setup(Path(tmp), students=STUDENTS)
        n = len(pairs)
        grade_module.Cluster = Recording
        try:
            grade(course, force=True, progress=False, feedback=False, log=lambda *_: None, workers=2)
        finally:
            grade_module.Cluster = Cluster
        truth = _scores(course, pairs)
        grade_module.Cluster = Replaying
        try:
            for _ in range(REPEATS):
                for w in WORKERS:
                    with cli_cluster(Path(tmp) / f"dask-{w}-{len(times[w])}", workers=w) as (address, _):
                        coordinator["cpu"] = 0.0
                        start = time.perf_counter()
                        cpu_start = time.process_time()
                        grade(course, force=True, progress=False, feedback=False, log=lambda *_: None,
                              scheduler=address)
                        times[w].append(time.perf_counter() - start)
                        cpu.append((time.process_time() - cpu_start) / n)
                        merge_cpu.append(coordinator["cpu"] / n)
                    print(f"  round {len(times[w])}: {w} workers {times[w][-1]:.1f} s", file=sys.stderr, flush=True)
                    scores = _scores(course, pairs)
                    checked += n
                    same += sum(scores[p] == truth[p] for p in pairs)
        finally:
            grade_module.Cluster = Cluster

    work = statistics.mean(order)
    per_nb = statistics.median(cpu)
    med = {w: statistics.median(v) for w, v in times.items()}
    lines = [f"| workers | ideal | median of {REPEATS} | runs | above ideal | notebooks/min | vs 1 worker |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for w in WORKERS:
        best = ideal(order, w)
        lines.append(f"| {w} | {best:.1f} s | {med[w]:.1f} s | {', '.join(f'{v:.1f}' for v in times[w])} s | "
                     f"{med[w] - best:+.1f} s ({(med[w] / best - 1) * 100:+.0f} %) | {n / med[w] * 60:.0f} | {med[1] / med[w]:.2f}× |")
    gaps = [med[w] - ideal(order, w) for w in WORKERS]
    spread = max(gaps) - min(gaps)
    allowed = LINEAR_WITHIN * ideal(order, WORKERS[-1])
    lines.append("")
    lines.append(f"{n} submissions (lessons 01 and 02, {STUDENTS} students); the real run's jobs took {work:.2f} s each "
                 f"on a worker (mean; {min(order):.2f}–{max(order):.2f} s). "
                 f"The time above ideal is {min(gaps):.1f}–{max(gaps):.1f} s at every worker count: a cost per batch "
                 f"(preparing the jobs, connecting, the rows and grades.csv), not per worker or per notebook. "
                 f"Linear in workers (the time above ideal grows by at most {LINEAR_WITHIN * 100:.0f} % of the "
                 f"{WORKERS[-1]}-worker ideal, {allowed:.1f} s, from 1 to {WORKERS[-1]} workers): "
                 f"{'met' if spread <= allowed else 'NOT met'} (it grows by {spread:.1f} s). "
                 f"The coordinator spent {per_nb * 1000:.0f} ms of CPU per notebook (median over the runs, all its "
                 f"threads: making and sending the job, Dask's client, {statistics.median(merge_cpu) * 1000:.0f} ms "
                 f"merging its result), so one coordinator keeps about {work / per_nb:.0f} workers busy before it "
                 f"becomes the limit. Scores identical to the real run: {same} of {checked}. "
                 f"Python {platform.python_version()}, {os.cpu_count()} CPUs (load average {load_start:.1f} at the "
                 f"start, {os.getloadavg()[0]:.1f} at the end).")
    return "\n".join(lines)


def _scores(course, pairs) -> dict:
    from bench_grading import _scores as scores

    return scores(course.db_url, "autograd-course", pairs)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(run())
