"""Benchmark: the cost of one gradcoach check vs torch.autograd.gradcheck, as the input grows.

Same function, same inputs, same run; medians of repeated timings and their ratios.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

import torch

import gradcoach as gc

SIZES = [1, 100, 10_000, 1_000_000]
FULL_MODE_MAX = 10_000  # gradcheck's full mode perturbs every element: 2n evaluations


def f(x):
    return (torch.sin(x) * x).sum()


def df(x):
    return torch.cos(x) * x + torch.sin(x)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_time() -> float:
    code = "import torch, time; t = time.perf_counter(); import gradcoach; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def run() -> str:
    torch.manual_seed(0)
    rows = []
    for n in SIZES:
        x = torch.randn(n, dtype=torch.float64, requires_grad=True)
        f(x).backward()
        reps = 7 if n < 1_000_000 else 5
        ours = median_time(lambda x=x: gc.check(x, f, df), reps)
        fast = median_time(lambda x=x: torch.autograd.gradcheck(f, (x,), fast_mode=True), reps)
        full = (median_time(lambda x=x: torch.autograd.gradcheck(f, (x,)), 3 if n >= 10_000 else reps)
                if n <= FULL_MODE_MAX else None)
        rows.append((n, ours, fast, full))
    lines = [
        "| elements | gradcoach.check | gradcheck fast_mode | gradcheck full | full ÷ gradcoach | fast ÷ gradcoach |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, ours, fast, full in rows:
        full_s = f"{full * 1e3:.1f} ms" if full is not None else "— (2n evaluations: skipped)"
        ratio = f"{full / ours:.0f}×" if full is not None else "—"
        lines.append(f"| {n:,} | {ours * 1e3:.2f} ms | {fast * 1e3:.2f} ms | {full_s} | {ratio} | {fast / ours:.1f}× |")
    lines.append("")
    lines.append(f"Median of repeated runs, float64, f(x) = Σ sin(x)·x, torch {torch.__version__}, "
                 f"{torch.get_num_threads()} threads. `import gradcoach` after torch: {import_time() * 1e3:.0f} ms.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
