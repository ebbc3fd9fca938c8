"""Checks of a graph's structure rather than its numbers: which leaves got no gradient, which
results built no graph, which Function made a tensor, which mode a student chose."""
from __future__ import annotations

import warnings

from ._safe import describe, grad_of, is_tensor
from .check import GradcoachAssertionError
from .i18n import t
from .report import fmt


def _fail(label: str, key: str, **values):
    __tracebackhide__ = True
    raise GradcoachAssertionError(t("assert_header", label=label) + "\n" + t(key, **values), codes=(key,),
                                  label=label)


def _tensor(value, name: str):
    __tracebackhide__ = True
    if not is_tensor(value):
        _fail(name, "not_tensor", name=name, kind=describe(value))
    return value


def assert_no_grad(x, name: str = "x"):
    """``x.grad`` must be None: no gradient was supposed to reach this leaf."""
    __tracebackhide__ = True
    _tensor(x, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grad = grad_of(x)
    if grad is not None:
        shown = fmt(grad.detach().reshape(-1)[0]) + (", …" if grad.numel() > 1 else "")
        _fail(name, "grad_should_be_none", name=name, got=shown)


def assert_no_graph(y, name: str = "y"):
    """``y`` must carry no graph (computed under no_grad/inference_mode, or detached)."""
    __tracebackhide__ = True
    _tensor(y, name)
    if y.requires_grad or y.grad_fn is not None:
        _fail(name, "graph_should_be_cut", name=name, grad_fn=type(y.grad_fn).__name__ if y.grad_fn else "None")


def assert_grad_fn(y, function, name: str = "y"):
    """``y`` must come straight out of ``function.apply`` (a custom autograd.Function)."""
    __tracebackhide__ = True
    _tensor(y, name)
    expected = f"{function.__name__}Backward"
    got = type(y.grad_fn).__name__ if y.grad_fn is not None else "None"
    if got != expected:
        _fail(name, "grad_fn_wrong", name=name, expected=f"{function.__name__}.apply", got=got,
              function=function.__name__)


def assert_choice(value, expected: str, choices, name: str = "answer"):
    """A one-word answer: exactly a ``str``, one of ``choices``, equal to ``expected``."""
    __tracebackhide__ = True
    choices = tuple(choices)
    if type(value) is not str or value not in choices:
        _fail(name, "choice_invalid", name=name, choices=", ".join(repr(c) for c in choices), got=repr(value)[:40])
    if value != expected:
        _fail(name, "choice_wrong", name=name)
