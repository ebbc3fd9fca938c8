"""Run an exercise's test cell against replacement answers (the mutation suite's engine).

One namespace per notebook (the solutions notebook in English, executed cell by cell in this process
as a kernel would); each case is executed in place of the answer cell, then the test cell runs as
written, hidden tests included, on a copy of the namespace, so every case starts from the same state.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_WRONG, MIN_RIGHT = 6, 2


@dataclass
class Outcome:
    passed: bool
    message: str = ""
    codes: tuple = ()     # gradcoach's diagnosis codes (GradcoachAssertionError.codes), if any

    def names(self, expected) -> bool:
        """Whether the failure names ``expected``: a diagnosis code, or a fragment of the message."""
        return expected in self.codes or expected in self.message


@dataclass
class Notebook:
    lesson: str
    ns: dict = field(default_factory=dict)
    exercises: dict = field(default_factory=dict)   # "ex1" -> (answer source, test source)

    def run(self, ex: str, answer_source: str) -> Outcome:
        import torch

        import gradcoach as gc
        test_source = self.exercises[ex][1]
        ns = dict(self.ns)
        shown = io.StringIO()   # what the cell printed (gc.explain_errors writes its explanation to stderr)
        try:
            with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
                exec(compile(answer_source, f"<{self.lesson} {ex} answer>", "exec"), ns)
                exec(compile(test_source, f"<{self.lesson} {ex} test>", "exec"), ns)
        except Exception as exc:  # a failed test is any exception, as nbgrader counts it
            text = f"{type(exc).__name__}: {exc}"
            if exc.__cause__ is not None:
                text += f"\n{type(exc.__cause__).__name__}: {exc.__cause__}"
            codes = tuple(getattr(exc, "codes", ()) or getattr(exc.__cause__, "codes", ()) or ())
            return Outcome(False, text + "\n" + shown.getvalue(), codes)
        finally:
            torch.set_grad_enabled(True)
            gc.set_language("en")
        return Outcome(True)


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def load(lesson: str) -> Notebook:
    """Execute solutions/en/<lesson>.ipynb once and collect its exercises."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    path = ROOT / "solutions" / "en" / f"{lesson}.ipynb"
    nb = Notebook(lesson)
    nb.ns = {"__name__": "__main__"}
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    answers = {}
    for cell in cells:
        src = _source(cell)
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        m = re.fullmatch(r"(ex\d+)_(answer|test)", gid)
        if m and m.group(2) == "answer":
            answers[m.group(1)] = src
        elif m:
            nb.exercises[m.group(1)] = (answers[m.group(1)], src)
        if src.lstrip().startswith(("%", "!")):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(src, f"<{lesson} {gid or 'cell'}>", "exec"), nb.ns)
        except Exception:  # cells tagged raises-exception demonstrate errors on purpose
            pass
    try:
        import matplotlib.pyplot as plt
        plt.close("all")
    except ImportError:
        pass
    return nb


def lessons() -> list[str]:
    return sorted(p.stem for p in (ROOT / "lessons").glob("[0-9][0-9]_*.md"))
