"""Load a command-line script of tools/ (lab.py, colab_sim.py, build_notebooks.py) as a module.

The scripts are programs, not a package: a test imports one by its path instead of putting tools/
on sys.path (the packages autograde and coursebuild are installed by `make setup`).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
