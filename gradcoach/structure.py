"""Checks of a graph's structure rather than its numbers: which leaves got no gradient, which
results built no graph, which Function made a tensor, which mode a student chose."""
from __future__ import annotations

import warnings

import torch

from ._safe import describe, grad_of, is_tensor
from .check import GradcoachAssertionError, in_words
from .i18n import t
from .report import fmt


def _fail(label: str, key: str, **values):
    __tracebackhide__ = True
    text = in_words(t(key, **values), values.get("name"))
    raise GradcoachAssertionError(t("assert_header", label=label) + "\n" + text, codes=(key,), label=label)


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
        # a model's parameter is frozen with requires_grad_(False); leaving it out of the optimizer is not that
        key = "grad_should_be_none_param" if isinstance(x, torch.nn.Parameter) else "grad_should_be_none"
        _fail(name, key, name=name, got=shown)


def assert_no_graph(y, name: str = "y"):
    """``y`` must carry no graph (computed under no_grad/inference_mode, or detached)."""
    __tracebackhide__ = True
    _tensor(y, name)
    if y.grad_fn is None and y.requires_grad:  # a leaf: no history yet, but all computed from it is recorded
        _fail(name, "graph_leaf_requires_grad", name=name)
    if y.requires_grad or y.grad_fn is not None:
        _fail(name, "graph_should_be_cut", name=name, grad_fn=type(y.grad_fn).__name__ if y.grad_fn else "None")


def assert_grad_fn(y, function, name: str = "y"):
    """``y`` must come straight out of ``function.apply`` (a custom autograd.Function written in the
    PyTorch 2.0 form: ``forward`` without ``ctx``, and ``setup_context``)."""
    __tracebackhide__ = True
    _tensor(y, name)
    expected = f"{function.__name__}Backward"
    got = type(y.grad_fn).__name__ if y.grad_fn is not None else "None"
    if got != expected:
        # a custom Function's node is a BackwardCFunction; anything else is PyTorch's own (MulBackward0, CopySlices)
        builtin = not isinstance(y.grad_fn, torch.autograd.function.BackwardCFunction)
        key = "grad_fn_none" if y.grad_fn is None else "grad_fn_builtin" if builtin else "grad_fn_wrong"
        _fail(name, key, name=name,
              expected=f"{function.__name__}.apply", got=got, function=function.__name__)
    if function_form(function) == "ctx_in_forward":
        _fail(name, "function_legacy_form", function=function.__name__)
    broken = _backward_ignores_chain_rule(y)
    if broken:
        _fail(name, broken, function=function.__name__)


def function_form(function):
    """How a custom autograd.Function is written: ``"setup_context"`` (the PyTorch 2.0 form, the one
    ``torch.func`` accepts), ``"ctx_in_forward"`` (the legacy ``forward(ctx, ...)`` without
    ``setup_context``), or None for anything else. A stand-in for a class that lives in another
    process (the grader's checker) carries the answer as ``__gradcoach_form__``."""
    if not isinstance(function, type):
        return getattr(function, "__gradcoach_form__", None)
    if not issubclass(function, torch.autograd.Function):
        return None
    base = torch.autograd.function._SingleLevelFunction.setup_context
    return "setup_context" if function.setup_context is not base else "ctx_in_forward"


def _backward_ignores_chain_rule(y):
    """Does the custom backward that made ``y`` break the chain rule? A backward must be linear in
    grad_output; it is called (on y's own node, no_grad) with grad_output u and 2u: the same result
    twice means it ignores grad_output, another result that is not twice the first that it is not
    linear. None when it behaves, or when it cannot be called so (several outputs, an error)."""
    node = y.grad_fn
    if not isinstance(node, torch.autograd.function.BackwardCFunction) or not y.is_floating_point():
        return None
    try:
        u = torch.linspace(0.5, 1.5, y.numel(), dtype=y.dtype).reshape(y.shape)
        with torch.no_grad():  # each call its own grad_output: a backward that scales it in place (*=)
            once, twice = node.apply(u.clone()), node.apply(2 * u)  # is linear, not "not linear"
    except Exception:  # noqa: BLE001 - the student's backward: no evidence then
        return None
    once = once if isinstance(once, tuple) else (once,)
    twice = twice if isinstance(twice, tuple) else (twice,)
    pairs = [(a.detach(), b.detach()) for a, b in zip(once, twice, strict=False)
             if is_tensor(a) and is_tensor(b) and a.is_floating_point() and a.shape == b.shape]
    if not pairs or all(torch.allclose(b, 2 * a, rtol=1e-6, atol=1e-12) for a, b in pairs):
        return None
    if all(torch.allclose(b, a, rtol=1e-9, atol=1e-12) for a, b in pairs) and any(bool(a.any()) for a, _ in pairs):
        return "custom_backward_ignores_grad_output"
    return "custom_backward_not_linear"


def assert_choice(value, expected: str, choices, name: str = "answer"):
    """A one-word answer: exactly a ``str``, one of ``choices``, equal to ``expected``."""
    __tracebackhide__ = True
    choices = tuple(choices)
    if type(value) is not str or value not in choices:
        code = "choice_invalid_one" if len(choices) == 1 else "choice_invalid"   # "one of 'dot'" reads wrong
        _fail(name, code, name=name, choices=", ".join(repr(c) for c in choices), got=repr(value)[:40])
    if value != expected:
        _fail(name, "choice_wrong", name=name)
