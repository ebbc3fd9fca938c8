"""A student notebook in a simulated Colab (tools/colab_sim.py): alone in an empty folder, run by a
fresh Python that has torch but not gradcoach and not this repository. The setup cell installs
gradcoach from GRADCOACH_INSTALL (a wheel built from this checkout), pip leaves torch alone, and
every cell outside the exercises runs. How torch is "preinstalled" without a reinstall, and why
pip cannot replace it even by mistake, is explained in tools/colab_sim.py."""
from pathlib import Path

import pytest

from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
colab_sim = load_tool("colab_sim")

# Lesson 02 draws the computation graph, which Colab (no torchviz) must still show.
PREFERRED = ("notebooks/ja/02_*.ipynb", "notebooks/ja/*.ipynb")


def student_notebook() -> Path:
    for pattern in PREFERRED:
        found = colab_sim.find_notebook(pattern)
        if found:
            return found
    pytest.fail("no student notebook in notebooks/ja/: run `make notebooks`")


@pytest.fixture(scope="module")
def colab_run(tmp_path_factory):
    wheel = colab_sim.build_wheel(tmp_path_factory.mktemp("wheel"))
    run = colab_sim.simulate(student_notebook(), tmp_path_factory.mktemp("colab"), wheel)
    print(f"\nsimulated Colab, {run.notebook.name}: setup cell {run.setup_seconds:.1f} s, "
          f"installed {run.installed_bytes / 1024:.0f} KiB ({', '.join(run.installed)})")
    return run


@pytest.mark.slow
def test_setup_cell_installs_gradcoach_from_the_override_into_the_fresh_python(colab_run):
    # gradcoach_languages.py (and its top-level __pycache__) is part of gradcoach's distribution (CONTRIBUTING.md)
    assert colab_run.installed == ["__pycache__", "gradcoach", "gradcoach-0.1.0.dist-info", "gradcoach_languages.py"], colab_run.pip_log
    assert "Successfully installed gradcoach" in colab_run.pip_log
    assert "/venv/" in colab_run.probe["gradcoach"], "gradcoach must come from the fresh environment"
    assert not any(str(ROOT) in entry for entry in colab_run.probe["sys_path"]), "the repository leaked in"
    assert colab_run.installed_bytes < 1_000_000, "gradcoach should stay a small download"


@pytest.mark.slow
def test_pip_does_not_touch_the_preinstalled_torch(colab_run):
    assert "Requirement already satisfied: torch" in colab_run.pip_log
    assert colab_run.torch_changes() == []
    assert "/preinstalled/torch/" in colab_run.probe["torch"]


@pytest.mark.slow
def test_every_cell_outside_the_exercises_runs(colab_run):
    assert colab_run.errors == [], "\n".join(f"cell {i}: {e}" for i, e in colab_run.errors)
    assert colab_run.code_cells > 3
    # The stubs a student has not answered yet say so, in the notebook's language.
    assert all(e.startswith("NotAnswered") for _, e in colab_run.exercise_errors), colab_run.exercise_errors


@pytest.mark.slow
def test_setup_cell_cost_is_measured(colab_run):
    assert 0 < colab_run.setup_seconds < 120


@pytest.mark.parametrize("line, touches", [
    ("Requirement already satisfied: torch>=2.0 in /x/preinstalled (2.13.0+cpu)", False),
    ("Requirement already satisfied: filelock in /x (from torch>=2.0->gradcoach==0.1.0) (4.2.11)", False),
    ("Collecting torchviz", False),
    ("Successfully installed gradcoach-0.1.0 torchviz-0.0.3", False),
    ("Collecting torch==2.12.0", True),
    ("Downloading torch-2.12.0-cp311-cp311-manylinux_2_28_x86_64.whl (900 MB)", True),
    ("Attempting uninstall: torch", True),
    ("Successfully installed gradcoach-0.1.0 torch-2.12.0", True),
])
def test_torch_change_detector_reads_pips_output(line, touches):
    run = colab_sim.ColabRun(notebook=Path("x.ipynb"), setup_seconds=0, installed_bytes=0, installed=[],
                             pip_log=line, setup_output="")
    assert bool(run.torch_changes()) is touches
