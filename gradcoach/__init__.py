"""gradcoach: is your gradient right, and if not, why?

    import gradcoach as gc
    gc.set_language("ja")
    x = torch.tensor(2.0, requires_grad=True)
    torch.log(2 * x**2 - 3 * x + 2).backward()
    gc.check(x, lambda x: torch.log(2 * x**2 - 3 * x + 2), lambda x: (4 * x - 3) / (2 * x**2 - 3 * x + 2))

Every check compares three numbers per element: the gradient you obtained (``x.grad``), the
analytic answer and a float64 central finite difference, and explains a disagreement in the
notebook's language. ``check*`` return a report (a table in Jupyter); ``assert_*`` raise
AssertionError with the diagnosis (for nbgrader tests), hiding expected values unless
``reveal=True``.
"""
from __future__ import annotations

import inspect

import torch

from . import check as _check_mod
from . import graph, plotting  # noqa: F401 - gc.graph, gc.plotting (they import matplotlib/torchviz only when called)
from ._safe import NotGenuine, describe, value_to_f64
from .check import GradcoachAssertionError, checked_labels
from .evaluate import usage_error
from .evidence import last_answer, watch_grad_writes
from .explain import enable_explanations, explain, explain_errors
from .finite_diff import finite_difference
from .i18n import LANGUAGES, language, set_language, t
from .report import Passed, Report
from .rules import (
    RuleBroken,
    assert_connected,
    assert_dtype,
    assert_not_connected,
    assert_shape,
    assert_type,
    call,
    count_calls,
    forbid,
    formula_only,
    require,
    snapshot,
)
from .rules import (
    watch_answer as _watch_rules,
)
from .structure import assert_choice, assert_grad_fn, assert_no_grad, assert_no_graph

__all__ = [
    "check", "check_second", "check_formula", "confirm",
    "assert_grad", "assert_second", "assert_formula", "assert_close",
    "assert_no_grad", "assert_no_graph", "assert_grad_fn", "assert_choice",
    "answer", "NotAnswered", "GradcoachAssertionError",
    "finite_difference", "explain", "explain_errors", "enable_explanations",
    "set_language", "language", "LANGUAGES", "checked_labels", "Report",
    "forbid", "require", "count_calls", "call", "formula_only", "snapshot", "assert_dtype", "assert_type",
    "assert_shape", "assert_connected", "assert_not_connected", "RuleBroken", "student_side", "passed",
]
__version__ = "0.1.0"


def check(inputs, f, expected=None, *, got=None, v=None, atol=None, rtol=None, label=None, name=None):
    """Check the gradient of ``f`` with respect to ``inputs`` (a tensor or a tuple of tensors).

    ``expected``: the analytic derivative — a callable of the inputs, or a value (a tuple of them
    for several inputs); omit it to compare with finite differences only. ``got`` defaults to
    each input's ``.grad``; ``name`` is what messages call a ``got`` of one input (say, the function
    that computed it). ``v``: for a vector output, the v given to ``backward(v)`` (vᵀJ).
    Returns a :class:`Report` (falsy when the check fails).
    """
    return _check_mod._gradient_check("grad", inputs, f, expected, got=got, v=v, atol=atol, rtol=rtol,
                                      label=label, reveal=True, got_name=name)


def check_second(inputs, f, expected=None, *, first=0, got=None, v=None, atol=None, rtol=None, label=None,
                 name=None):
    """Check second derivatives of a scalar ``f``.

    After ``fx, = torch.autograd.grad(f(x, w), x, create_graph=True)`` and ``fx.backward()``,
    ``x.grad`` holds ∂²f/∂x² and ``w.grad`` holds ∂²f/∂x∂w: pass ``first=x`` (the input whose
    gradient you differentiated; a tensor, its name or its index) and the analytic second
    derivatives. ``v`` weights the elements of that gradient, as ``fx.backward(v)`` does. ``got``
    and ``name`` work as in :func:`check` (``got=hvp(f, x, v), v=v`` checks a Hessian–vector product).
    """
    return _check_mod._gradient_check("second", inputs, f, expected, got=got, v=v, atol=atol, rtol=rtol,
                                      label=label, reveal=True, first=first, got_name=name)


def _formula_check(f, formula, at, v, atol, rtol, label, reveal):
    if not callable(f):
        raise usage_error("usage_not_callable", name="f", kind=describe(f))
    if type(at) is list and at and all(type(p) in (int, float) for p in at):
        points = (at,)  # a list of numbers is one vector point; a tuple holds one point per input
    else:
        points = at if type(at) in (tuple, list) else (at,)
    try:
        inputs = tuple(torch.tensor(value_to_f64(p) if type(p) is not list else [float(q) for q in p],
                                    dtype=torch.float64, requires_grad=True) for p in points)
    except (NotGenuine, TypeError, ValueError):
        raise usage_error("usage_at", kind=describe(at)) from None
    try:
        with torch.enable_grad():
            out = f(*inputs)
            # no grad_outputs for a scalar: passing one makes torch import a large module on first use
            if v is not None:
                weights = torch.as_tensor(value_to_f64(v)).reshape(out.shape)
            else:  # a vector output without v is reported as such by the check below
                weights = None if out.numel() == 1 else torch.ones_like(out)
            grads = torch.autograd.grad(out, inputs, grad_outputs=weights, allow_unused=True)
    except Exception as exc:  # noqa: BLE001 - the student's f: say what failed, in their language
        raise usage_error("usage_f_failed", error=f"{type(exc).__name__}: {exc}") from None
    grads = tuple(torch.zeros_like(x) if g is None else g.detach() for g, x in zip(grads, inputs, strict=True))
    got = grads if len(grads) > 1 else grads[0]
    return _check_mod._gradient_check("formula", inputs if len(inputs) > 1 else inputs[0], f, formula,
                                      got=got, v=v, atol=atol, rtol=rtol, label=label, reveal=reveal)


def check_formula(f, formula, at, *, v=None, atol=None, rtol=None, label=None):
    """Check an analytic derivative ``formula`` (a callable, like ``f``) against autograd and
    finite differences of ``f`` at the point ``at`` (a number, tensor, or a tuple for several
    inputs)."""
    return _formula_check(f, formula, at, v, atol, rtol, label, reveal=True)


def confirm(label, got, expected, *, atol=None, rtol=None, name=None):
    """Check a stated number or formula value (not a gradient): ``got`` ≈ ``expected``. A plain
    number ``expected`` stands for every element of ``got``; otherwise the shapes must match."""
    return _check_mod.value_check(got, expected, atol=atol, rtol=rtol, label=label, name=name or label, reveal=True,
                                  each=True)


def _raise_if_failed(report: Report):
    __tracebackhide__ = True
    if not report.passed:
        header = t("assert_header", label=report.label) if report.label else t("assert_header_plain")
        raise GradcoachAssertionError("\n".join([header] + report.messages), codes=report.codes,
                                      label=report.label or None)
    return report


def assert_grad(inputs, f, expected=None, *, got=None, v=None, atol=None, rtol=None, label=None, reveal=False,
                name=None):
    """:func:`check` that raises AssertionError with the diagnosis (for nbgrader tests)."""
    __tracebackhide__ = True
    return _raise_if_failed(_check_mod._gradient_check("grad", inputs, f, expected, got=got, v=v, atol=atol,
                                                       rtol=rtol, label=label, reveal=reveal, got_name=name))


def assert_second(inputs, f, expected=None, *, first=0, got=None, v=None, atol=None, rtol=None, label=None,
                  reveal=False, name=None):
    """:func:`check_second` that raises AssertionError with the diagnosis."""
    __tracebackhide__ = True
    return _raise_if_failed(_check_mod._gradient_check("second", inputs, f, expected, got=got, v=v, atol=atol,
                                                       rtol=rtol, label=label, reveal=reveal, first=first,
                                                       got_name=name))


def assert_formula(f, formula, at, *, v=None, atol=None, rtol=None, label=None, reveal=False):
    """:func:`check_formula` that raises AssertionError with the diagnosis."""
    __tracebackhide__ = True
    return _raise_if_failed(_formula_check(f, formula, at, v, atol, rtol, label, reveal))


def assert_close(got, expected, *, name="value", atol=None, rtol=None, label=None, reveal=False, why=None):
    """``got`` ≈ ``expected`` for a genuine tensor or plain number; raises AssertionError. ``why``: a
    sentence the test adds after the diagnosis when the check fails (what the task asks, how to fix it)."""
    __tracebackhide__ = True
    if why is not None and type(why) is not str:
        raise usage_error("usage_label", kind=describe(why))
    report = _check_mod.value_check(got, expected, atol=atol, rtol=rtol, label=label, name=name, reveal=reveal)
    if not report.passed and why:
        report.messages.append(why)
    return _raise_if_failed(report)


def passed() -> Passed:
    """The last line of an exercise's test cell: reached only when every visible test before it
    passed (they raise otherwise), it says so, and that hidden tests follow at grading."""
    return Passed()


_student_side = None  # set by a grader whose test cells run apart from the student's kernel


def student_side(fn, *args):
    """``fn(*args)``, run where the student's code runs: in a notebook that is just the call. A
    grader that runs the test cells in a process of their own (autograde's checker) runs ``fn``
    in the student's kernel instead, so that a test can build a large structure out of the
    student's objects (a graph of ``Value`` nodes) in one step; the result comes back as data."""
    __tracebackhide__ = True
    if not callable(fn):
        raise usage_error("usage_not_callable", name="fn", kind=describe(fn))
    if _student_side is not None:
        return _student_side(fn, args)
    return fn(*args)


class NotAnswered(GradcoachAssertionError):
    """The exercise still holds its stub (``raise NotImplementedError()``)."""


def answer(fn, *args, **kwargs):
    """Call a student's exercise function; a stub becomes a localized "not answered yet", any
    other error gets gradcoach's explanation."""
    __tracebackhide__ = True
    if not callable(fn):
        raise usage_error("usage_not_callable", name="fn", kind=describe(fn))
    name = getattr(fn, "__name__", "answer")
    last_answer.clear()
    last_answer.update(fn=fn if inspect.isfunction(fn) else None, args=args, kwargs=kwargs)
    _watch_rules(fn)  # the active rules see the names fn's module imported (from torch.func import jvp)
    try:
        with watch_grad_writes(args, kwargs) as writes:  # evidence: which backward passes wrote .grad
            result = fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise NotAnswered(t("not_answered", name=_raised_in(exc, fn) or name)) from None
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        hint = explain(exc)
        raise GradcoachAssertionError(t("answer_raised", name=name, error=detail)
                                      + (f"\n💡 {hint}" if hint else ""), codes=("answer_raised",)) from exc
    if result is None:
        raise GradcoachAssertionError(t("answer_returned_none", name=name, what=t("what_tensor")),
                                      codes=("answer_returned_none",))
    last_answer["writes"] = writes
    last_answer["result"] = result  # its evidence is used only for checks of this result
    return result


def _raised_in(exc: BaseException, fn) -> str | None:
    """The qualified name of the notebook's function whose line raised ``exc``: the stub may sit in
    a method that ``fn`` calls (a custom Function's ``forward``), not in ``fn``. The grader's checker
    passes it on as ``gradcoach_where``, since a student's traceback does not cross to it."""
    if hasattr(exc, "gradcoach_where"):  # from the grader: its own traceback holds only its frames
        where = exc.gradcoach_where
        return where if isinstance(where, str) and where else None
    module, found, tb = getattr(fn, "__module__", None), None, exc.__traceback__
    while tb is not None:
        if module is not None and tb.tb_frame.f_globals.get("__name__") == module:
            code = tb.tb_frame.f_code
            found = getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    found = found.rsplit("<locals>.", 1)[-1] if found else None  # a function defined in a function
    return found if found and not found.startswith("<") else None
