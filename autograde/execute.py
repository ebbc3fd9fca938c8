"""nbgrader's Execute preprocessor, with the kernel in the sandbox and every failure contained.

Differences from ``nbgrader.preprocessors.Execute`` (which stays the base class):

- the kernel is a :class:`~autograde.sandbox.SandboxKernelManager` (bwrap, limits, no network);
- before each graded test cell the guard restores pristine gradcoach/torch/builtins (see
  inside/autograde_guard.py) and the test runs with ``gc``/``torch``/``np``/``math`` renamed to
  per-kernel aliases a student cannot rebind;
- a cell that times out is interrupted; if the kernel then stays silent it is killed, and a dead
  kernel (``os._exit``, segfault, CPU or memory limit) no longer loses the whole notebook: the
  cells already run keep their results, the rest get a "not run" error (so their tests score 0),
  and nbgrader saves the grades as usual;
- what happened is recorded in :data:`EVENTS` for the grading report.
"""
from __future__ import annotations

import io
import secrets
import signal
import tokenize

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Dict, Integer, List

from .messages import t
from .sandbox import SandboxKernelManager

#: (student, assignment, notebook) → events of the last execution (read by the grading worker)
EVENTS: dict[tuple[str, str, str], list[dict]] = {}


def rename_names(source: str, aliases: dict[str, str]) -> str:
    """Rename the free names ``gc``, ``torch``... of test code to their aliases (attributes,
    keyword arguments and import lines are left alone). Untokenizable code is returned unchanged."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.splitlines(keepends=True)
    edits = []
    significant = [tok for tok in tokens if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                                                            tokenize.INDENT, tokenize.DEDENT)]
    import_lines = {tok.start[0] for tok in significant if tok.type == tokenize.NAME and tok.string in ("import", "from")
                    and tok.start[1] == len(lines[tok.start[0] - 1]) - len(lines[tok.start[0] - 1].lstrip())}
    for i, tok in enumerate(significant):
        if tok.type != tokenize.NAME or tok.string not in aliases or tok.start[0] in import_lines:
            continue
        before = significant[i - 1].string if i else ""
        after = significant[i + 1].string if i + 1 < len(significant) else ""
        if before == "." or (after == "=" and before in ("(", ",")):
            continue
        edits.append((tok.start, tok.end, aliases[tok.string]))
    for (row, col), (_, end_col), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end_col:]
    return "".join(lines)


def _error_output(ename: str, message: str):
    return new_output("error", ename=ename, evalue=message, traceback=[message])


class SandboxedExecute(Execute):
    """Runs a student's notebook in the grading sandbox (see the module docstring)."""

    sandbox = Dict(help="limits, lang and sandbox (False = --unsafe-no-sandbox)").tag(config=True)
    guarded_names = List(["gc", "torch", "np", "numpy", "math"],
                         help="Names a test cell uses that are rebound to pristine objects").tag(config=True)
    max_output_bytes = Integer(5_000_000, help="Outputs kept per cell (bytes, approx.)").tag(config=True)

    def __init__(self, **kw):
        kw["kernel_manager_class"] = SandboxKernelManager
        super().__init__(**kw)
        self.shutdown_kernel = "immediate"
        self.iopub_timeout = 10

    @property
    def lang(self) -> str:
        return self.sandbox.get("lang", "en")

    def create_kernel_manager(self):
        token = secrets.token_hex(6)
        self.entry = f"__autograde_restore_{token}"
        self.aliases = {name: f"__ag_{token}_{name}" for name in self.guarded_names}
        settings = {**self.sandbox, "entry": self.entry, "aliases": self.aliases}
        self.km = self._manager = self.kernel_manager_class(config=self.config, settings=settings)
        return self.km

    # -- the notebook -------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        info = (resources or {}).get("nbgrader", {})
        self.events = EVENTS[(info.get("student", ""), info.get("assignment", ""), info.get("notebook", ""))] = []
        self.error_on_timeout = {"ename": "CellTimeoutError", "evalue": t("timeout", self.lang, seconds=self.timeout),
                                 "traceback": [t("timeout", self.lang, seconds=self.timeout)]}
        self._stopped = None
        self._manager = None
        self._timed_out = set()
        self._output_bytes = {}
        started = False
        try:
            with self.setup_kernel():
                reply = self.wait_for_reply(self.kc.kernel_info())
                started = True
                self.nb.metadata["language_info"] = reply["content"]["language_info"]
                for index, cell in enumerate(self.nb.cells):
                    self._run_cell(cell, resources, index)
        except Exception as exc:  # noqa: BLE001 - a kernel that never started fails this notebook only
            if started:
                raise
            manager = self._manager
            detail = (manager.stderr_tail() if manager is not None else "") or str(exc)
            detail = detail.strip().splitlines()[-1][:300] if detail.strip() else type(exc).__name__
            self.events.append({"kind": "start_failed", "detail": detail})
            for cell in self.nb.cells:
                if cell.cell_type == "code" and cell.source.strip():
                    cell.outputs = [_error_output("KernelNotStarted", t("start_failed", self.lang, detail=detail))]
        return self.nb, self.resources

    def _run_cell(self, cell, resources, index) -> None:
        if cell.cell_type != "code" or not cell.source.strip():
            return
        if self._stopped:
            cell.outputs = [_error_output("NotRun", t("not_run", self.lang))]
            return
        self._index = index
        graded = is_grade(cell)
        try:
            if graded:
                clean = self._restore_guard()
                original = cell.source
                cell.source = rename_names(original, self.aliases)
                try:
                    self.preprocess_cell(cell, resources, index)
                finally:
                    cell.source = original
                if not clean:
                    self.events.append({"kind": "tampered", "cell": index, "grade_id": _grade_id(cell)})
                    cell.outputs.append(_error_output("GradingStateTampered", t("tampered", self.lang)))
            else:
                self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cause, detail = self._death_cause()
            self.events.append({"kind": "died", "cell": index, "grade_id": _grade_id(cell), "cause": detail})
            cell.outputs.append(_error_output("KernelDied", t("died", self.lang, cause=cause)))
            self._stopped = "died"
        except CellTimeoutError:
            if index in self._timed_out:
                # interrupted, and still no idle message: the kernel ignores interrupts; stop it
                self.events.append({"kind": "unresponsive", "cell": index, "grade_id": _grade_id(cell)})
                cell.outputs.append(_error_output("KernelUnresponsive", t("unresponsive", self.lang)))
                self._stopped = "unresponsive"
                run_sync(self.km.shutdown_kernel)(now=True)
            else:
                # the reply came but its output never did (a message over the size limit was dropped)
                self.events.append({"kind": "output_lost", "cell": index, "grade_id": _grade_id(cell)})
                cell.outputs.append(_error_output("OutputLost", t("unresponsive", self.lang)))

    # -- guard ---------------------------------------------------------------------------------
    def _restore_guard(self) -> bool:
        """Evaluate the guard's entry as a user expression (no input transformer sees it)."""
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"ok": f"{self.entry}()"})
        reply = self.wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        result = content.get("user_expressions", {}).get("ok", {})
        return (content.get("status") == "ok" and result.get("status") == "ok"
                and result.get("data", {}).get("text/plain") == "True")

    # -- failures ------------------------------------------------------------------------------
    async def _async_handle_timeout(self, timeout, cell=None):
        index = getattr(self, "_index", None)
        self._timed_out.add(index)
        self.events.append({"kind": "timeout", "cell": index, "grade_id": _grade_id(cell), "seconds": timeout})
        return await super()._async_handle_timeout(timeout, cell)

    def _death_cause(self) -> tuple[str, str]:
        status = self._manager.exit_status() if self._manager is not None else None
        if status is None:
            return t("cause_killed", self.lang), "killed"
        code = status if status >= 0 else 128 - status
        if code > 128:
            signum = code - 128
            name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else f"signal {signum}"
            if signum == signal.SIGXCPU:
                limit = self.sandbox.get("limits", {}).get("cpu_seconds", "?")
                return t("cause_cpu", self.lang, seconds=limit), "cpu_limit"
            if signum == signal.SIGKILL:
                return t("cause_killed", self.lang), "killed"
            return t("cause_crash", self.lang, signal=name), name
        return t("cause_exit", self.lang, code=code), f"exit {code}"

    def output(self, outs, msg, display_id, cell_index):
        size = sum(len(str(v)) for v in msg.get("content", {}).values())
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        if used > self.max_output_bytes:
            if used - size <= self.max_output_bytes:
                self.events.append({"kind": "output_truncated", "cell": cell_index})
                outs.append(new_output("stream", name="stderr", text="[...]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _grade_id(cell) -> str | None:
    return (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id") if cell is not None else None
