"""nbgrader's Execute preprocessor, with the kernel in the sandbox and every failure contained.

Differences from ``nbgrader.preprocessors.Execute`` (which stays the base class):

- the kernel is a :class:`~autograde.sandbox.SandboxKernelManager` (bwrap, limits, no network);
- before each graded test cell the guard restores pristine gradcoach/torch/builtins (see
  inside/autograde_guard.py) and the test runs with ``gc``/``torch``/``np``/``math`` renamed to
  per-kernel aliases a student cannot rebind;
- a graded test cell scores pass/fail: any ``execute_result`` it shows is dropped, so a value
  displayed from inside an answer (``sys.displayhook(...)``) can no longer become nbgrader's
  partial credit or full marks; test cells also stay out of IPython's history (``In``, ``_ih``);
- a cell that times out is interrupted; if the kernel then stays silent it is killed, and a dead
  kernel (``os._exit``, segfault, CPU or memory limit) no longer loses the whole notebook: the
  cells already run keep their results, the rest get a "not run" error (so their tests score 0),
  and nbgrader saves the grades as usual;
- what happened is recorded as :class:`Event` records for the grading report (:func:`take_events`).
"""
from __future__ import annotations

import copy
import io
import json
import os
import queue
import secrets
import signal
import time
import tokenize
from dataclasses import dataclass, replace
from enum import Enum

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_locked
from traitlets import Bool, Dict, Integer, default

from .inside.guarded import GUARDED
from .inside.limits import MAX_REPLY
from .messages import t
from .relay import Relay
from .sandbox import KernelSettings, SandboxKernelManager


class EventKind(str, Enum):
    """What can happen to a notebook's execution that the grading report shows."""

    TIMEOUT = "timeout"
    DIED = "died"
    UNRESPONSIVE = "unresponsive"
    START_FAILED = "start_failed"
    TAMPERED = "tampered"
    OUTPUT_LOST = "output_lost"
    OUTPUT_TRUNCATED = "output_truncated"


@dataclass(frozen=True)
class Event:
    """One thing that happened while a notebook ran (picklable: it crosses to the main process)."""

    kind: EventKind
    cell: int | None = None
    grade_id: str | None = None
    detail: str = ""  # the cause of a death, why a kernel did not start, the seconds of a timeout

    @property
    def where(self) -> str:
        return self.grade_id or f"cell {self.cell}"


_EVENTS: dict[tuple[str, str, str], list[Event]] = {}


#: at most one checker per worker process, started (forked by the zygote) right after a notebook, so
#: that the next notebook finds it initialised: its settings key -> (kernel manager, client)
_SPARE: dict[str, tuple] = {}


def checker_default() -> bool:
    """Test cells run in a checker kernel unless ``AUTOGRADE_CHECKER=0`` (the benchmark's baseline)."""
    return os.environ.get("AUTOGRADE_CHECKER", "1") != "0"


def take_events(student: str, assignment: str, notebook: str) -> list[Event]:
    """The events of this worker's last execution of that notebook (and forget them)."""
    return _EVENTS.pop((student, assignment, notebook), [])


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
    guarded_names = Dict(GUARDED, help="Names a test cell uses that are rebound to pristine modules: "
                         "name -> module (inside/guarded.py)").tag(config=True)
    max_output_bytes = Integer(5_000_000, help="Outputs kept per cell (bytes, approx.)").tag(config=True)
    checker = Bool(help="Run the test cells in a checker kernel apart from the student's (inside/checker.py); "
                   "False (or AUTOGRADE_CHECKER=0, for benchmarks): in the student's kernel, behind the guard "
                   "only").tag(config=True)

    in_kernel = Dict(help="notebook name -> why its test cells run in the student's kernel even with the checker "
                     "on (lessons/course.yml, grading.in_kernel)").tag(config=True)

    @default("checker")
    def _checker_default(self) -> bool:
        return checker_default()

    def __init__(self, **kw):
        kw["kernel_manager_class"] = SandboxKernelManager
        super().__init__(**kw)
        self.shutdown_kernel = "immediate"
        self.iopub_timeout = 10
        self._checker_on = self.checker  # per notebook: see preprocess (in_kernel)

    @property
    def lang(self) -> str:
        return self.sandbox.get("lang", "en")

    @property
    def _relay_timeout(self) -> float:
        # longer than a cell may run: a test cell's own timeout is what normally stops a hung answer
        return self.timeout + 30

    def create_kernel_manager(self):
        token = secrets.token_hex(6)
        self.entry = f"autograde_restore_{token}"
        self.aliases = {name: f"__ag_{token}_{name}" for name in self.guarded_names}
        guarded = {name: [alias, self.guarded_names[name]] for name, alias in self.aliases.items()}
        settings = KernelSettings.from_config(self.sandbox).with_guard(self.entry, guarded)
        if self._checker_on:
            self.call_entry = f"autograde_call_{secrets.token_hex(6)}"
            settings = replace(settings, call_entry=self.call_entry)
        self._settings = settings
        self.km = self._manager = self.kernel_manager_class(config=self.config, settings=settings.to_config())
        return self.km

    # -- the checker ---------------------------------------------------------------------------
    def _checker_settings(self) -> KernelSettings:
        return replace(self._settings, role="checker", call_entry="", entry="", guarded={})

    def _checker_key(self, settings: KernelSettings) -> str:
        return json.dumps([settings.to_config(), list(self.extra_arguments)], sort_keys=True, default=str)

    def _launch_checker(self, settings: KernelSettings, avoid_uid: int | None):
        km = self.kernel_manager_class(config=self.config, settings=settings.to_config())
        while km.uid is not None and km.uid == avoid_uid:
            km.uid += 1
        run_sync(km.start_kernel)(extra_arguments=self.extra_arguments)
        kc = km.client()
        kc.start_channels()
        return km, kc

    def _start_checker(self) -> None:
        """The second kernel of the notebook, which runs its test cells (see inside/checker.py):
        the one started after the previous notebook if it matches (the same settings, alive,
        another uid than this student's kernel), else a fresh fork."""
        settings = self._checker_settings()
        spare = _SPARE.pop(self._checker_key(settings), None)
        _discard_spares()
        if spare is not None and (spare[0].exit_status() is not None
                                  or spare[0].uid is not None and spare[0].uid == self._manager.uid):
            _discard(*spare)
            spare = None
        km, kc = spare or self._launch_checker(settings, self._manager.uid)
        self._checker_km = km
        # it starts while the student's first cells run: its sandbox is not the student's (sandbox.Zygote.get)
        self._checker_kc, self._checker_ready = kc, False
        self._relay = Relay(km.bridge_address(), self._manager, self.call_entry, self._relay_timeout)

    def _prestart_checker(self) -> None:
        """After a notebook, fork the next notebook's checker in the checkers' sandbox (emptied when
        this notebook's checker stopped), so that its kernel initialises while this worker saves the
        grades and prepares the next job. A spare may wait through notebooks graded in the student's
        kernel (``in_kernel``): no student code can reach the checkers' sandbox."""
        if not (self.checker and self._settings.sandbox):
            return
        if any(km.exit_status() is not None for km, _kc in _SPARE.values()):
            _discard_spares()
        if _SPARE:
            return
        settings = self._checker_settings()
        try:
            km, kc = self._launch_checker(settings, None)
        except Exception:  # noqa: BLE001 - the next notebook starts its own and reports why it cannot
            return
        _SPARE[self._checker_key(settings)] = (km, kc)
        km.zygote.on_close(_discard_spares)

    async def _async_checker_wait_ready(self, timeout: float) -> None:
        """Like jupyter_client's ``wait_for_ready`` without its fixed 0.2 s of IOPub silence: a
        kernel_info reply on the shell channel, and its idle status on IOPub (so that channel is
        connected too, and the first test cell's outputs cannot be missed)."""
        kc, km = self._checker_kc, self._checker_km
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if km.exit_status() is not None:
                raise RuntimeError("Kernel died before replying to kernel_info")
            msg_id = kc.kernel_info()
            if not await _got(kc.shell_channel, msg_id, 1.0, lambda m: True):
                continue
            if await _got(kc.iopub_channel, msg_id, 0.5,
                          lambda m: m["msg_type"] == "status" and m["content"].get("execution_state") == "idle"):
                return
        raise RuntimeError("Kernel didn't respond in %d seconds" % timeout)

    def _stop_checker(self) -> None:
        relay, kc, km = self._relay, self._checker_kc, self._checker_km
        self._relay = self._checker_kc = self._checker_km = None
        if relay is not None:
            relay.close()
        if km is not None:
            _discard(km, kc)

    def _run_in_checker(self, cell, index, keep_outputs: bool = True) -> None:
        """Execute ``cell`` in the checker (its outputs, score and errors are the checker's);
        a student kernel that died meanwhile is reported as dying in this cell."""
        target = cell if keep_outputs else copy.deepcopy(cell)
        if not self._checker_ready:
            run_sync(self._async_checker_wait_ready)(self.startup_timeout)
            self._checker_ready = True
        own = self.km, self.kc
        self.km, self.kc, self._in_checker = self._checker_km, self._checker_kc, True
        try:
            self.execute_cell(target, index, store_history=False)
        finally:
            self.km, self.kc = own
            self._in_checker = False
        if keep_outputs:
            cell.outputs = [self._explained(out) for out in cell.outputs if out.get("output_type") != "execute_result"]
        if self._manager.exit_status() is not None:
            raise DeadKernelError("the student's kernel died")

    def _explained(self, out):
        """The checker's errors for an answer the student's kernel could not give (too large to send,
        inside/bridge.py MAX_REPLY; or none, inside/checker.py StudentUnavailable), in the course's
        language instead of their internal codes."""
        if out.get("output_type") != "error" or out.get("ename") not in ("AnswerTooLarge", "StudentUnavailable"):
            return out
        if out["ename"] == "StudentUnavailable":
            code = str(out.get("evalue", ""))
            code = code if code in ("stopped", "no_answer") else "unreadable"
            return _error_output("StudentUnavailable", t(f"student_{code}", self.lang, seconds=self._relay_timeout))
        code, _, size = str(out.get("evalue", "")).partition(":")
        if code != "too_large" or not size.isdigit():
            return out
        return _error_output("AnswerTooLarge", t("answer_too_large", self.lang, mb=-(-int(size) // 2**20),
                                                 limit=MAX_REPLY // 2**20))

    # -- the notebook -------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        info = (resources or {}).get("nbgrader", {})
        self._checker_on = self.checker and info.get("notebook", "") not in self.in_kernel
        self.events = _EVENTS[(info.get("student", ""), info.get("assignment", ""), info.get("notebook", ""))] = []
        self.error_on_timeout = {"ename": "CellTimeoutError", "evalue": t("timeout", self.lang, seconds=self.timeout),
                                 "traceback": [t("timeout", self.lang, seconds=self.timeout)]}
        self._stopped = None
        self._manager = None
        self._timed_out = set()
        self._output_bytes = {}
        self._relay = self._checker_kc = self._checker_km = None
        self._in_checker = False
        started = False
        try:
            with self.setup_kernel():
                reply = self.wait_for_reply(self.kc.kernel_info())
                try:
                    if self._checker_on:
                        self._start_checker()
                    started = True
                    self.nb.metadata["language_info"] = reply["content"]["language_info"]
                    for index, cell in enumerate(self.nb.cells):
                        self._run_cell(cell, resources, index)
                finally:
                    self._stop_checker()
            if started:  # both sandboxes are clean again (each kernel's cleanup reset its own)
                self._prestart_checker()
        except Exception as exc:  # noqa: BLE001 - a kernel that never started fails this notebook only
            if started:
                raise
            manager = self._manager
            detail = (manager.stderr_tail() if manager is not None else "") or str(exc)
            detail = detail.strip().splitlines()[-1][:300] if detail.strip() else type(exc).__name__
            self.events.append(Event(EventKind.START_FAILED, detail=detail))
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
            if graded and self._checker_on:
                # the student's kernel is put right too (defence in depth: it answers the
                # checker's calls), but the verdict is the checker's alone
                self._restore_guard()
                self._run_in_checker(cell, index)
            elif graded:
                clean = self._restore_guard()
                original = cell.source
                cell.source = rename_names(original, self.aliases)
                try:
                    self._run_test_cell(cell, index)
                finally:
                    cell.source = original
                for out in cell.outputs:  # nbgrader scores any stderr output 0: a warning printed by a
                    if out.get("output_type") == "stream" and out.get("name") == "stderr":  # correct answer
                        out["name"] = "stdout"  # must not cost its points (a failure is an error output)
                if not clean:
                    self.events.append(Event(EventKind.TAMPERED, index, _grade_id(cell)))
                    cell.outputs.append(_error_output("GradingStateTampered", t("tampered", self.lang)))
            else:
                self.preprocess_cell(cell, resources, index)
                if self._checker_on and is_locked(cell):  # the course's own setup: the checker needs it too
                    self._run_in_checker(cell, index, keep_outputs=False)
        except DeadKernelError:
            cause, detail = self._death_cause()
            self.events.append(Event(EventKind.DIED, index, _grade_id(cell), detail))
            cell.outputs.append(_error_output("KernelDied", t("died", self.lang, cause=cause)))
            self._stopped = "died"
        except CellTimeoutError:
            if index in self._timed_out:
                # interrupted, and still no idle message: the kernel ignores interrupts; stop it
                self.events.append(Event(EventKind.UNRESPONSIVE, index, _grade_id(cell)))
                cell.outputs.append(_error_output("KernelUnresponsive", t("unresponsive", self.lang)))
                self._stopped = "unresponsive"
                run_sync(self.km.shutdown_kernel)(now=True)
            else:
                # the reply came but its output never did (a message over the size limit was dropped)
                self.events.append(Event(EventKind.OUTPUT_LOST, index, _grade_id(cell)))
                cell.outputs.append(_error_output("OutputLost", t("output_lost", self.lang)))
                self._reconnect_iopub()

    def _reconnect_iopub(self) -> None:
        """libzmq does not reconnect a SUB socket that dropped an over-size message, so without a
        new one every later cell would lose its output too (and wait out iopub_timeout): open it,
        and wait until it hears the kernel (a kernel_info round trip, as at start)."""
        self.kc.iopub_channel.close()
        self.kc._iopub_channel = None
        try:
            run_sync(self.kc.wait_for_ready)(timeout=self.iopub_timeout)
        except RuntimeError:  # the next cell's own wait reports what is wrong
            pass

    def _run_test_cell(self, cell, index) -> None:
        """A graded test cell: kept out of IPython's history, scored pass/fail (no execute_result)."""
        self.execute_cell(cell, index, store_history=False)
        cell.outputs = [out for out in cell.outputs if out.get("output_type") != "execute_result"]

    # -- guard ---------------------------------------------------------------------------------
    def _restore_guard(self) -> bool:
        """Send the guard's entry message (its type is the per-kernel entry name; the kernel's
        dispatcher runs it, so nothing in the student's namespace can stand in for it)."""
        msg = self.kc.session.msg(self.entry, {})
        self.kc.shell_channel.send(msg)
        reply = self.wait_for_reply(msg["header"]["msg_id"])
        return (reply or {}).get("content", {}).get("restored") is True

    # -- failures ------------------------------------------------------------------------------
    async def _async_handle_timeout(self, timeout, cell=None):
        index = getattr(self, "_index", None)
        self._timed_out.add(index)
        self.events.append(Event(EventKind.TIMEOUT, index, _grade_id(cell), str(timeout)))
        if self._in_checker:  # the checker waits for the student's function: stop that too
            await ensure_async(self._manager.interrupt_kernel())
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
        """Keep at most ``max_output_bytes`` of a cell's outputs, but always its error: nbgrader
        scores a test cell by its error, and LimitOutput runs only after this."""
        content = msg.get("content", {})
        if msg.get("msg_type") == "error":
            traceback = content.get("traceback") or []
            if sum(len(line) for line in traceback) > self.max_output_bytes // 10:
                content["traceback"] = [str(content.get("evalue", ""))[: self.max_output_bytes // 10]]
            return super().output(outs, msg, display_id, cell_index)
        size = sum(len(str(v)) for v in content.values())
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        if used > self.max_output_bytes:
            if used - size <= self.max_output_bytes:
                self.events.append(Event(EventKind.OUTPUT_TRUNCATED, cell_index))
                # stdout, not stderr: nbgrader would score a test cell with a stderr stream 0
                outs.append(new_output("stream", name="stdout", text="[...]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


async def _got(channel, msg_id: str, timeout: float, wanted) -> bool:
    """Whether a message answering ``msg_id`` that ``wanted`` accepts arrives within ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except queue.Empty:
            return False
        if msg.get("parent_header", {}).get("msg_id") == msg_id and wanted(msg):
            return True
    return False


def _discard(km, kc) -> None:
    """Stop a checker; in the sandbox by killing it and resetting the checkers' sandbox (its kernel
    directory, log and bridge socket go with it). The reset stops no other checker: a worker has at
    most one at a time (the running one or the spare, see _SPARE)."""
    if kc is not None:
        kc.stop_channels()
    try:
        if km.zygote is not None:
            km.provisioner.process.kill()
            run_sync(km.cleanup_resources)()
        else:
            run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - the sandbox's reset kills it anyway
        pass


def _discard_spares() -> None:
    while _SPARE:
        _discard(*_SPARE.popitem()[1])


def _grade_id(cell) -> str | None:
    return (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id") if cell is not None else None
