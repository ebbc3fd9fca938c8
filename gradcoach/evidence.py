"""Evidence a diagnosis may rest on: facts gradcoach measures, never guesses.

- :func:`grad_was_accumulated`: whether ``.grad`` was certainly written by one backward pass (its
  version counter never moved); a moved counter is no proof of a second pass (see there).
- :func:`rerun_backward_calls`: how many backward passes the student's answer function runs.
- :func:`fresh_autograd`: autograd's own answer for ``f`` at fresh float64 leaves.
- :func:`custom_functions`: the custom ``autograd.Function`` classes in a graph.
- :func:`caller_source`: the code of the cell (or file) that called gradcoach.
- :func:`watch_grad_writes` / :func:`grad_writes`: what each backward pass of a ``gc.answer`` call
  wrote into the ``.grad`` of the leaves it was given (hooks, removed when the call returns).
- :func:`path_contributions`: the gradient each use of an input in ``f``'s graph sends back.
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
    """The number of backward passes that write ``.grad`` (``backward()``, ``torch.autograd.backward``;
    not ``torch.autograd.grad``, which returns its gradients) one call of ``fn`` makes, or None when it
    cannot be measured (grading, or ``fn`` fails on a second run)."""
    if _GRADING or fn is None:
        return None
    count = [0]
    original = torch.autograd.backward

    def counting(*a, **k):
        count[0] += 1
        return original(*a, **k)

    torch.autograd.backward = counting  # Tensor.backward() calls it by this name
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fn(*[a.detach().clone().requires_grad_(a.requires_grad) if is_tensor(a) else a for a in args], **kwargs)
    except Exception:  # noqa: BLE001 - no evidence then
        return None
    finally:
        torch.autograd.backward = original
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


# -- what wrote .grad while the student's answer ran -------------------------------------------------

#: leaves and elements beyond which the answer's gradient writes are not recorded (memory)
_WATCH_LEAVES, _WATCH_ELEMENTS = 256, 2_000_000


class GradWrites:
    """The backward passes that wrote into one leaf's ``.grad`` while a ``gc.answer`` call ran,
    recorded by a tensor hook (the incoming gradient of each pass) and a post-accumulate hook (that
    pass's accumulation). ``run`` holds the contributions since ``.grad`` was last empty (or zero);
    ``prior`` says the first of them was added to a gradient held before (not reset); ``cleared``
    that ``.grad`` was written and then set back to None (or zeroed) before the answer returned."""

    def __init__(self, leaf):
        self.leaf = leaf
        self.total = 0
        self.run: list = []
        self.every: list = []  # every pass's contribution, resets or not
        self.prior = False
        self.cleared = False
        self.tampered = False
        self._pending = None
        self._final = None
        self._version = None

    def _incoming(self, grad):
        self._pending = grad.detach().clone()

    def _accumulated(self, leaf):
        c, self._pending = self._pending, None
        if c is None or self.total < 0:  # an accumulation whose incoming gradient was not seen: no record
            self.total = -1
            return
        self.total += 1
        self.every.append(c)
        g = leaf.grad
        if g is not None and g.shape == c.shape and torch.equal(g.detach(), c):  # started from empty or zero
            self.run, self.prior = [c], False
        else:
            if not self.run:
                self.prior = True
            self.run.append(c)

    def finish(self):
        g = self.leaf.grad
        self.cleared = self.total > 0 and (g is None or not bool(g.detach().any()))
        # .grad is not what the passes wrote (an assignment, `.grad *= 2`): the record explains nothing
        self.tampered = False
        if g is not None and self.run and not self.prior and not self.cleared and self.total > 0:
            wrote = sum(self.run)
            scale = float(wrote.abs().max()) if wrote.numel() else 0.0
            self.tampered = g.shape != wrote.shape or not torch.allclose(
                g.detach(), wrote.to(g.dtype), rtol=1e-5, atol=1e-8 * max(scale, 1e-30))
        self._final = g
        self._version = g._version if g is not None else None

    def still_valid(self) -> bool:
        """``.grad`` is still what the answer left (nothing wrote into it since)."""
        g = self.leaf.grad
        return self.total >= 0 and g is self._final and (g is None or g._version == self._version)

    def same_contributions(self) -> bool:
        first = self.run[0]
        return all(torch.allclose(c, first, rtol=1e-9, atol=1e-12) for c in self.run[1:])


def _watchable(obj, out: list) -> None:
    if is_tensor(obj):
        if obj.is_leaf and obj.requires_grad and all(o is not obj for o in out):
            out.append(obj)
    elif isinstance(obj, torch.nn.Module):
        for p in obj.parameters():
            _watchable(p, out)
    elif isinstance(obj, torch.optim.Optimizer):
        for group in obj.param_groups:
            for p in group["params"]:
                _watchable(p, out)


@contextlib.contextmanager
def watch_grad_writes(args, kwargs):
    """Record, per leaf the answer was given (tensors, a module's or an optimizer's parameters, one
    level of lists), which backward passes wrote its ``.grad``; the hooks are removed afterwards."""
    leaves: list = []
    for a in list(args) + list(kwargs.values()):
        for item in (a if type(a) in (list, tuple) else (a,)):
            _watchable(item, leaves)
    if len(leaves) > _WATCH_LEAVES or sum(x.numel() for x in leaves) > _WATCH_ELEMENTS:
        leaves = []
    records, handles = [], []
    try:
        for x in leaves:
            r = GradWrites(x)
            handles.append(x.register_hook(r._incoming))
            handles.append(x.register_post_accumulate_grad_hook(r._accumulated))
            records.append(r)
    except RuntimeError:  # noqa: PERF203 - a tensor that takes no hooks: no record for any
        records = []
    try:
        yield records
    finally:
        for h in handles:
            h.remove()
        for r in records:
            r.finish()


def grad_writes(x) -> GradWrites | None:
    """What the last ``gc.answer`` call's backward passes wrote into ``x.grad``, while still valid."""
    for r in last_answer.get("writes", ()):
        if r.leaf is x:
            return r if r.still_valid() else None
    return None


def grad_writes_of_value(value) -> GradWrites | None:
    """The record of the leaf whose ``.grad`` is ``value`` itself (a check of ``p.grad``), if any."""
    if not is_tensor(value):
        return None
    for r in last_answer.get("writes", ()):
        if r.leaf.grad is value and r.still_valid():
            return r
    return None


def path_contributions(f, bases, v=None):
    """Per input, the gradient that each use of it in ``f``'s graph (at fresh float64 leaves) sends
    back: one tensor per edge into the input (``x * x`` uses x twice), captured by hooks on the
    nodes that use it. Their sum is autograd's gradient. None when f cannot be run so."""
    try:
        leaves = [b.clone().requires_grad_() for b in bases]
        with torch.enable_grad():
            out = f(*leaves)
        if not is_tensor(out) or out.grad_fn is None:
            return None
        contributions = [[] for _ in leaves]
        handles, seen, stack = [], set(), [out.grad_fn]

        def capture(i, j):
            def hook(grad_inputs, grad_outputs):
                if grad_inputs[j] is not None:
                    contributions[i].append(tensor_to_f64(grad_inputs[j]))
            return hook

        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            for j, (nxt, _) in enumerate(node.next_functions):
                if nxt is None:
                    continue
                var = getattr(nxt, "variable", None)
                if var is None:
                    stack.append(nxt)
                    continue
                for i, leaf in enumerate(leaves):
                    if var is leaf:
                        handles.append(node.register_hook(capture(i, j)))
        try:
            weights = None if v is None else torch.as_tensor(v, dtype=out.dtype).reshape(out.shape)
            with torch.enable_grad():
                torch.autograd.grad(out, leaves, grad_outputs=weights, allow_unused=True)
        finally:
            for h in handles:
                h.remove()
    except Exception:  # noqa: BLE001
        return None
    return contributions


def custom_backward_disagrees(y, x, max_elements: int = 64):
    """When ``y`` comes straight out of a custom ``autograd.Function`` applied to the leaf ``x``:
    that Function's name if its backward disagrees with central differences of its own forward
    (run again on a float64 copy of x, weighted by a seeded random u), else None. Not while grading
    (it runs the student's Function again), nor for large inputs."""
    node = getattr(y, "grad_fn", None) if is_tensor(y) else None
    if _GRADING or not isinstance(node, torch.autograd.function.BackwardCFunction) or x.numel() > max_elements:
        return None
    if not any(getattr(n, "variable", None) is x for n, _ in node.next_functions):
        return None
    cls = getattr(node, "_forward_cls", None)
    try:
        base = x.detach().to(torch.float64).clone()
        gen = torch.Generator().manual_seed(0)
        leaf = base.clone().requires_grad_()
        with torch.enable_grad():
            out = cls.apply(leaf)
        if not is_tensor(out):
            return None
        u = torch.randn(out.shape, dtype=torch.float64, generator=gen)
        (auto,) = torch.autograd.grad(out, leaf, grad_outputs=u)
        fd = torch.empty(base.numel(), dtype=torch.float64)
        flat = base.reshape(-1)
        with torch.no_grad():
            for i in range(flat.numel()):
                h = 6e-6 * max(1.0, abs(float(flat[i])))
                up, down = flat.clone(), flat.clone()
                up[i] += h
                down[i] -= h
                fd[i] = ((cls.apply(up.reshape(base.shape)) - cls.apply(down.reshape(base.shape))) * u).sum() / (2 * h)
    except Exception:  # noqa: BLE001 - the student's Function: no evidence then
        return None
    auto = auto.reshape(-1)
    if not (torch.isfinite(auto).all() and torch.isfinite(fd).all()):
        return None
    if torch.allclose(auto, fd, rtol=1e-4, atol=1e-6 * max(1.0, float(fd.abs().max()))):
        return None
    return getattr(cls, "__name__", type(node).__name__.removesuffix("Backward"))
