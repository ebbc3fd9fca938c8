"""Benchmark: time to run each generated notebook top to bottom in a fresh kernel (target < 3 s).

Median of 3 runs per notebook, one at a time, nbclient, a fresh python3 kernel each. "cells" is the
notebook's own cost, setup cell (import torch) included, and is what the target applies to; "run all"
adds starting the kernel (about a second, the same for every notebook): what Restart & Run All costs.
Errors in the student form (unanswered exercises) are expected and do not stop a run.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys

from coursebuild import ROOT, generated_files
from coursebuild.execute import run_notebook

REPEATS = 3
TARGET_SECONDS = 3.0


def run(paths: list | None = None) -> str:
    paths = paths or sorted(generated_files(ROOT))
    if not paths:
        return "No generated notebooks: run `make notebooks` first."
    lines = ["| notebook | cells (median) | run all, kernel start included (median) | < 3 s |",
             "|---|---:|---:|:---:|"]
    slow = 0
    for rel in paths:
        results = [run_notebook(str(ROOT / rel), single_thread=False) for _ in range(REPEATS)]
        broken = [r.failure for r in results if r.failure]
        if broken:
            lines.append(f"| {rel} | failed: {broken[0].splitlines()[0]} | | ✗ |")
            slow += 1
            continue
        total = statistics.median(r.seconds for r in results)
        cells = statistics.median(r.cell_seconds for r in results)
        ok = cells < TARGET_SECONDS
        slow += not ok
        lines.append(f"| {rel} | {cells:.2f} s | {total:.2f} s | {'✓' if ok else '✗'} |")
    lines.append("")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"{len(paths) - slow} of {len(paths)} notebooks under {TARGET_SECONDS:.0f} s; median of {REPEATS} runs, "
                 f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.1f} at the end "
                 "(`import torch` alone slows down several-fold on a busy machine).")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:] or None))
