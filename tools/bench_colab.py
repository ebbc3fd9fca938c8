"""Simulated Colab (tools/colab_sim.py): what the setup cell costs a student, from a fresh Python with torch.

Median of a few runs, each in a new environment: the setup cell's time (pip installs the gradcoach
wheel, then torch and gradcoach are imported) and what it adds to site-packages.
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import colab_sim

RUNS = 3


def run() -> str:
    notebook = colab_sim.find_notebook()
    if notebook is None:
        return f"(no {colab_sim.DEFAULT_NOTEBOOK}: run `make notebooks`)"
    with tempfile.TemporaryDirectory(prefix="bench-colab-") as tmp:
        wheel = colab_sim.build_wheel(Path(tmp) / "wheel")
        runs = []
        for i in range(RUNS):
            workdir = Path(tmp) / f"run{i}"
            workdir.mkdir()
            runs.append(colab_sim.simulate(notebook, workdir, wheel))
    times = [r.setup_seconds for r in runs]
    last = runs[-1]
    return "\n".join([
        "| notebook | setup cell (median of %d) | fastest | installed | pip changed torch | errors outside exercises |" % RUNS,
        "|---|---:|---:|---:|---|---:|",
        f"| {notebook.relative_to(colab_sim.ROOT)} | {statistics.median(times):.1f} s | {min(times):.1f} s | "
        f"{last.installed_bytes / 1024:.0f} KiB ({', '.join(last.installed)}) | "
        f"{'yes: ' + '; '.join(last.torch_changes()) if last.torch_changes() else 'no'} | "
        f"{max(len(r.errors) for r in runs)} |",
    ])


if __name__ == "__main__":
    print(run())
