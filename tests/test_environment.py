"""The course environment: pip pins, conda's environment.yml and gradcoach's own loose requirements."""
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "graphviz": "python-graphviz"}


def pip_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                name, version = spec.split("==")
                pins[name.lower()] = version
        elif "=" in dep:
            name, version = dep.split("=", 1)
            pins[name.lower()] = version
    return pins


def test_environment_yml_names_the_same_packages_and_versions_as_the_pip_pins():
    conda = conda_pins()
    for name, version in pip_pins().items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda.get(conda_name) == version, f"{name}=={version} but environment.yml has {conda.get(conda_name)}"


def test_lock_agrees_with_the_top_level_pins():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-")] = version
    for name, version in pip_pins().items():
        assert lock.get(name.replace("_", "-")) == version, name


def test_gradcoach_requirements_are_loose_so_colab_keeps_its_torch():
    text = (ROOT / "pyproject.toml").read_text()
    deps = re.search(r"dependencies = \[(.*?)\]", text, re.S).group(1)
    assert '"torch>=2.0"' in deps and "==" not in deps
    assert 'requires-python = ">=3.10"' in text


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pip_pins().items():
        assert version(name).split("+")[0] == pinned, name


def test_setup_is_idempotent_once_done():
    result = subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "make setup would do work again although nothing changed"


def test_make_test_runs_the_pinned_linter_first():
    plan = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "ruff check" in plan and plan.index("ruff check") < plan.index("pytest")
    assert pip_pins().get("ruff"), "ruff must be pinned in requirements.txt so every machine lints alike"
