"""A simulated Colab: one student notebook, alone in an empty folder, run by a fresh Python that
already has torch (as Colab's does) but neither gradcoach nor this repository on sys.path.

    python tools/colab_sim.py [notebooks/ja/02_chain_rule.ipynb]   # run it, print the setup cell's cost
    python tools/bench.py --only colab                             # the same, as a benchmark table

How the fresh Python gets torch without reinstalling it (minutes): a new virtual environment
whose site-packages holds a .pth line naming a folder of links to the course environment's
packages minus gradcoach (and its editable-install hook) and torchviz. That folder plays Colab's
preinstalled dist-packages (torch, numpy, matplotlib, graphviz, ipykernel, pip; no torchviz).
pip sees those packages as installed, as in Colab, and installs into the new environment (the
running interpreter's prefix) only.

The setup cell installs what GRADCOACH_INSTALL names: here a wheel built from this checkout.
pip runs with no index and no configured wheel folders, so it cannot download or replace torch:
had gradcoach asked for another torch, the setup cell would fail and pip's log would say so.
pip writes that log to a file (PIP_LOG): the setup cell runs pip --quiet, and what a
subprocess prints reaches the notebook only as fast as the kernel forwards it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ("gradcoach", "__editable__", "torchviz")
DEFAULT_NOTEBOOK = "notebooks/ja/02_*.ipynb"

DRIVER = """\
import sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, allow_errors=True, record_timing=True, kernel_name="python3",
               resources={"metadata": {"path": "."}}).execute()
nbformat.write(nb, sys.argv[2])
"""

PROBE = """\
import json, sys, gradcoach, torch
print("COLAB-SIM " + json.dumps({"gradcoach": gradcoach.__file__, "torch": torch.__file__, "sys_path": sys.path}))
"""


@dataclass
class ColabRun:
    """What happened to the notebook in the simulated Colab."""

    notebook: Path
    setup_seconds: float
    installed_bytes: int
    installed: list[str]
    pip_log: str       # pip's own account of what it did (timestamps removed)
    setup_output: str  # what the student sees under the setup cell
    errors: list[tuple[int, str]] = field(default_factory=list)           # non-exercise cells
    exercise_errors: list[tuple[int, str]] = field(default_factory=list)  # stubs not answered yet
    code_cells: int = 0
    probe: dict = field(default_factory=dict)
    executed: nbformat.NotebookNode | None = None

    def torch_changes(self) -> list[str]:
        """pip's lines saying it fetched, installed or removed torch (torchviz etc. do not count)."""
        import re

        acts = ("Collecting", "Downloading", "Installing collected packages", "Successfully installed",
                "Found existing installation", "Attempting uninstall", "Uninstalling", "Successfully uninstalled")
        return [line for line in self.pip_log.splitlines()
                if line.lstrip().startswith(acts) and re.search(r"\btorch(?![\w-]*[a-z])", line)]


def build_wheel(dest: Path) -> Path:
    """A gradcoach wheel built from a copy of this checkout (the checkout is left untouched)."""
    with tempfile.TemporaryDirectory(prefix="gradcoach-src-") as src:
        src = Path(src)
        for name in ("pyproject.toml", "README.md", "gradcoach_languages.py"):
            shutil.copy2(ROOT / name, src / name)
        shutil.copytree(ROOT / "gradcoach", src / "gradcoach", ignore=shutil.ignore_patterns("__pycache__"))
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                               "--no-index", "-w", str(dest), str(src)], env=_pip_env(), capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"building the gradcoach wheel failed:\n{done.stdout}{done.stderr}")
    (wheel,) = dest.glob("gradcoach-*.whl")
    return wheel


def _pip_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def make_colab_python(where: Path) -> Path:
    """A fresh venv seeing the course's packages, except gradcoach and torchviz, as preinstalled.

    No ensurepip: its old bundled setuptools would shadow the one torch needs, which Colab has.
    """
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where / "venv")
    python = where / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    preinstalled = where / "preinstalled"
    preinstalled.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.startswith(HIDDEN) or entry.suffix == ".pth":
            continue
        (preinstalled / entry.name).symlink_to(entry)
    (site / "_colab_preinstalled.pth").write_text(f"{preinstalled}\n")
    return python


def _kernelspec(where: Path, python: Path) -> Path:
    """A `python3` kernel that runs ``python`` (first on JUPYTER_PATH, so no other one is used)."""
    spec = where / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    return where / "jupyter"


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _strip_timestamps(log: str) -> str:
    return "\n".join(line.split(" ", 1)[1] if line[:4].isdigit() and " " in line else line
                     for line in log.splitlines())


def _is_exercise(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def _is_setup(cell) -> bool:
    return cell.get("id") == "course-setup" or cell.metadata.get("nbgrader", {}).get("grade_id") == "course_setup"


def _seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return float("nan")
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
    return "".join(parts)


def simulate(notebook: Path, workdir: Path, wheel: Path | None = None, timeout: float = 600) -> ColabRun:
    """Run ``notebook`` in a simulated Colab under ``workdir`` (which should be empty)."""
    notebook = Path(notebook).resolve()
    wheel = wheel or build_wheel(workdir / "wheel")
    python = make_colab_python(workdir)
    site = next((workdir / "venv").glob("lib/python*/site-packages"))
    before = {p.name for p in site.iterdir()}

    folder = workdir / "content"  # the only thing in it: the notebook, as in a fresh Colab
    folder.mkdir()
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE, id="colab-sim-probe"))
    nbformat.write(nb, folder / notebook.name)
    (workdir / "driver.py").write_text(DRIVER)

    pip_log = workdir / "pip.log"
    env = _pip_env(GRADCOACH_INSTALL=str(wheel), PIP_NO_INDEX="1", PIP_LOG=str(pip_log),
                   JUPYTER_PATH=str(_kernelspec(workdir, python)),
                   JUPYTER_DATA_DIR=str(workdir / "jupyter-data"), JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
                   JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"))
    for name in ("PYTHONPATH", "GRADCOACH_LANG", "VIRTUAL_ENV"):
        env.pop(name, None)
    out = workdir / "executed.ipynb"
    subprocess.run([str(python), str(workdir / "driver.py"), notebook.name, str(out)], cwd=folder, env=env,
                   check=True, timeout=timeout)

    executed = nbformat.read(out, as_version=4)
    cells = [c for c in executed.cells if c.cell_type == "code"]
    setup = next((c for c in cells if _is_setup(c)), cells[0])
    probe_cell = cells.pop()  # the probe we appended
    probe = {}
    for line in _text(probe_cell).splitlines():
        if line.startswith("COLAB-SIM "):
            probe = json.loads(line[len("COLAB-SIM "):])
    new = sorted({p.name for p in site.iterdir()} - before)
    errors, exercise_errors = [], []
    for i, cell in enumerate(cells):
        for o in cell.outputs:
            if o.output_type == "error":
                (exercise_errors if _is_exercise(cell) else errors).append((i, f"{o.ename}: {o.evalue}"))
    if any(o.output_type == "error" for o in probe_cell.outputs):
        errors.append((len(cells), "probe: " + _text(probe_cell)[-500:]))
    return ColabRun(notebook=notebook, setup_seconds=_seconds(setup),
                    installed_bytes=sum(_tree_size(site / n) for n in new), installed=new,
                    pip_log=_strip_timestamps(pip_log.read_text() if pip_log.exists() else ""),
                    setup_output=_text(setup), errors=errors, exercise_errors=exercise_errors,
                    code_cells=len(cells), probe=probe, executed=executed)


def find_notebook(pattern: str = DEFAULT_NOTEBOOK) -> Path | None:
    return next(iter(sorted(ROOT.glob(pattern))), None)


def main(argv: list[str]) -> int:
    notebook = Path(argv[0]) if argv else find_notebook()
    if notebook is None or not notebook.exists():
        print(f"no notebook {argv[0] if argv else DEFAULT_NOTEBOOK}: run `make notebooks` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="colab-sim-") as tmp:
        run = simulate(notebook, Path(tmp))
    print(f"{notebook.name}: setup cell {run.setup_seconds:.1f} s, installed {run.installed_bytes / 1024:.0f} KiB "
          f"({', '.join(run.installed)}), pip changed torch: {'; '.join(run.torch_changes()) or 'no'}, "
          f"{run.code_cells} code cells, {len(run.exercise_errors)} exercise(s) not answered yet")
    for i, err in run.errors:
        print(f"cell {i}: {err}", file=sys.stderr)
    return 0 if not run.errors and not run.torch_changes() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
