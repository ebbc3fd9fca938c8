"""Flag student code that reaches for the grading machinery, for the instructor to review.

The test cells run in a checker process the student's code cannot reach (inside/checker.py), so
such code can no longer change a score; it can still misreport its own answer's data or try the
sandbox's walls. It is rare in an autograd course and easy to spot, so every graded notebook is
scanned and the report's ``review`` column lists what reaches for the grading machinery (frames,
ctypes, ``__main__``/``vars()``, IPython's history and handlers, the display hook, other
processes). A flag is not a verdict: the scores stand.
"""
from __future__ import annotations

import ast

from nbgrader.utils import is_grade, is_locked

from .inside.guarded import GUARDED

_GUARDED_ROOTS = {*GUARDED, *GUARDED.values(), "builtins", "sys", "IPython", "ipykernel", "autograde_guard",
                  "__builtins__"}
_SUSPECT_CALLS = {"setattr", "delattr", "__import__", "exec", "eval", "compile", "globals", "get_ipython", "vars",
                  "locals"}
_SUSPECT_ATTRS = {"_getframe", "f_globals", "f_back", "f_locals", "currentframe", "settrace", "setprofile",
                  "addaudithook", "get_objects", "get_referrers", "_exit", "modules", "showtraceback",
                  "set_custom_exc", "run_cell", "InteractiveTB", "__code__", "__globals__",
                  "displayhook", "__displayhook__", "__defaults__", "__kwdefaults__", "__closure__", "__setattr__",
                  "__delattr__", "fork", "forkpty", "user_ns", "history_manager", "shell_handlers", "ptrace"}
#: names that reach the shell's namespace, the builtins or IPython's history of executed cells
_SUSPECT_NAMES = {"__builtins__", "__main__", "In", "Out", "_ih", "_oh", "_i", "_ii", "_iii", "_dh"}
_SUSPECT_IMPORTS = {"ctypes", "gc", "inspect", "builtins", "importlib", "signal", "threading", "multiprocessing",
                    "subprocess", "socket", "IPython", "ipykernel", "autograde_guard", "_thread", "__main__",
                    "linecache", "pty"}
_FAKE_DUNDERS = {"__eq__", "__ne__", "__bool__", "__float__", "__array__", "__torch_function__", "__abs__",
                 "__le__", "__lt__", "__ge__", "__gt__", "__sub__", "__rsub__", "__reduce__", "__reduce_ex__",
                 "__getattribute__", "__getattr__"}


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def scan_source(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    flags = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in _GUARDED_ROOTS:
                    flags.append(f"changes {ast.unparse(target)}")
                elif isinstance(target, ast.Name) and target.id in GUARDED:
                    flags.append(f"rebinds {target.id}")
                elif isinstance(target, ast.Attribute) and target.attr == "__module__" or \
                        isinstance(target, ast.Name) and target.id == "__module__":
                    flags.append(f"sets {ast.unparse(target)}")
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in _SUSPECT_CALLS:
                flags.append(f"calls {name}()")
        elif isinstance(node, ast.Attribute) and node.attr in _SUSPECT_ATTRS:
            flags.append(f"uses .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in _SUSPECT_NAMES:
            flags.append(f"uses {node.id}")
        elif isinstance(node, ast.Constant) and node.value == "__main__":
            flags.append("uses __main__")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "/proc" in node.value:
            flags.append("uses /proc")  # other processes of the sandbox (the checker among them)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            flags += [f"imports {m}" for m in modules if m.split(".")[0] in _SUSPECT_IMPORTS]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _FAKE_DUNDERS:
            flags.append(f"defines {node.name}")
        elif isinstance(node, ast.Global) and set(node.names) & _GUARDED_ROOTS:
            flags.append(f"rebinds global {', '.join(sorted(set(node.names) & _GUARDED_ROOTS))}")
    return flags


def scan_notebook(nb, course_sources: set[str] = frozenset()) -> list[str]:
    """Flags for the student-written code cells (test, read-only and unchanged lesson cells are
    the course's; ``course_sources`` holds the release's cell sources, stripped)."""
    flags: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not (is_grade(cell) or is_locked(cell)) \
                and cell.source.strip() not in course_sources:
            for flag in scan_source(cell.source):
                if flag not in flags:
                    flags.append(flag)
    return flags
