"""Evidence a diagnosis may rest on: facts gradcoach measures, never guesses.

- :func:`grad_was_accumulated`: whether ``.grad`` was certainly written by one backward pass (its
  version counter never moved); a moved counter is no proof of a second pass (see there).
- :func:`rerun_backward_calls`: how many backward passes the student's answer function runs.
- :func:`fresh_autograd`: autograd's own answer for ``f`` at fresh float64 leaves.
- :func:`custom_functions`: the custom ``autograd.Function`` classes in a graph.
- :func:`caller_source`: the code of the cell (or file) that called gradcoach.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import linecache
import os
import sys
from pathlib import Path

import torch

from ._safe import grad_of, is_tensor, tensor_to_f64

# Re-running a student's code inside a graded check would hand it the running check: never while
# nbgrader executes a notebook (read once, at import, before any student code runs).
_GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
_HERE = str(Path(__file__).parent)


#: what gc.answer saw last: the student's function, its arguments and its result; the evidence it
#: gives (re-running the function) applies only to checks of that result
last_answer: dict = {}


def answered_fn(x):
    """The student's function whose gc.answer(...) result is (or contains) ``x``, if any."""
    result = last_answer.get("result")
    answered = result is x or (type(result) in (tuple, list) and any(r is x for r in result))
    return last_answer.get("fn") if answered else None


def grad_was_accumulated(x) -> bool | None:
    """False when ``x.grad`` was certainly written by a single backward pass; None otherwise.

    A plain ``.grad`` that was never modified in place (version 0) was written once: a second
    backward adds to it in place. A version ≥ 1 proves nothing by itself: within ONE pass the
    contributions of a tensor used twice (``x * x``, ``x ** 3 + 12 * x``) are summed in place in
    the gradient buffer that then becomes ``.grad``. Under ``create_graph=True`` the same holds for
    the addition in ``.grad``'s graph. Only re-running the student's code tells (see
    :func:`rerun_backward_calls`)."""
    if not is_tensor(x):
        return None
    g = grad_of(x)
    if g is None:
        return None
    if g.grad_fn is None and g._version == 0:
        return False
    return None


def grad_fingerprint(g) -> tuple:
    """What a ``.grad`` shows of how it was written: its version counter and its grad_fn's type."""
    return (g._version, type(g.grad_fn).__name__ if g.grad_fn is not None else None)


def backward_fingerprints(f, bases, index, passes: int, v=None, create_graph: bool = False):
    """``.grad``'s fingerprint of input ``index`` after each of ``passes`` backward passes of ``f``
    at fresh leaves (what k runs of f leave behind), or None when f cannot be run so."""
    import warnings
    prints = []
    try:
        leaves = [b.clone().requires_grad_() for b in bases]
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # create_graph=True warns about a reference cycle
            for _ in range(passes):
                out = f(*leaves)
                weights = None if v is None else torch.as_tensor(v, dtype=out.dtype).reshape(out.shape)
                out.backward(weights, create_graph=create_graph)
                g = leaves[index].grad
                if g is None:
                    return None
                prints.append(grad_fingerprint(g))
    except Exception:  # noqa: BLE001
        return None
    return prints


def rerun_backward_calls(fn, args, kwargs) -> int | None:
    """The number of backward passes (``backward()``/``torch.autograd.grad``) one call of ``fn``
    makes, or None when it cannot be measured (grading, or ``fn`` fails on a second run)."""
    if _GRADING or fn is None:
        return None
    count = [0]
    originals = (torch.autograd.backward, torch.autograd.grad)

    def counting(original):
        def wrapper(*a, **k):
            count[0] += 1
            return original(*a, **k)
        return wrapper

    torch.autograd.backward, torch.autograd.grad = (counting(o) for o in originals)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fn(*[a.detach().clone().requires_grad_(a.requires_grad) if is_tensor(a) else a for a in args], **kwargs)
    except Exception:  # noqa: BLE001 - no evidence then
        return None
    finally:
        torch.autograd.backward, torch.autograd.grad = originals
    return count[0]


def fresh_autograd(f, bases, v=None, first=None):
    """autograd's gradient of ``f`` at fresh float64 leaves (``first``: the second-derivative row
    of ``check_second``), as float64 arrays per input, plus the graph's output; None on failure."""
    try:
        leaves = [b.clone().requires_grad_() for b in bases]
        with torch.enable_grad():
            out = f(*leaves)
            if first is not None:
                (g1,) = torch.autograd.grad(out, leaves[first], create_graph=True)
                weights = torch.ones_like(g1) if v is None else torch.as_tensor(v, dtype=g1.dtype).reshape(g1.shape)
                grads = torch.autograd.grad(g1, leaves, grad_outputs=weights, allow_unused=True)
            else:
                weights = None if v is None else torch.as_tensor(v, dtype=out.dtype).reshape(out.shape)
                grads = torch.autograd.grad(out, leaves, grad_outputs=weights, allow_unused=True)
    except Exception:  # noqa: BLE001
        return None, None
    arrays = [tensor_to_f64(g) if g is not None else tensor_to_f64(torch.zeros_like(b)) for g, b in zip(grads, bases, strict=True)]
    return arrays, out


def first_derivative(f, bases, k):
    """∂f/∂input_k at fresh float64 leaves, or None."""
    try:
        leaves = [b.clone().requires_grad_() for b in bases]
        with torch.enable_grad():
            (g,) = torch.autograd.grad(f(*leaves), leaves[k])
    except Exception:  # noqa: BLE001
        return None
    return tensor_to_f64(g)


def custom_functions(out) -> list[str]:
    """Names of the custom ``torch.autograd.Function`` classes whose backward the graph of ``out`` runs."""
    if not is_tensor(out) or out.grad_fn is None:
        return []
    names, seen, stack = [], set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            cls = getattr(node, "_forward_cls", None)
            name = getattr(cls, "__name__", type(node).__name__.removesuffix("Backward"))
            if name not in names:
                names.append(name)
        stack.extend(n for n, _ in getattr(node, "next_functions", ()))
    return names


def caller_source() -> str:
    """The source of the cell or file whose code called gradcoach ('' when unknown)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    if frame is None:
        return ""
    if frame.f_code.co_name != "<module>":  # a function calling gradcoach: its own code only
        try:
            return "".join(inspect.getsourcelines(frame.f_code)[0])
        except (OSError, TypeError):
            return ""
    return "".join(linecache.getlines(frame.f_code.co_filename))
