"""Rules an exercise states besides its numbers: which functions may (or must) be used, the dtype
and type of the answer, and that the caller's tensors are left alone.

    with gc.forbid("torch.func.jacrev", "torch.autograd.functional.jacobian"):
        J = gc.answer(jacobian_rows, f, x0)
    with gc.require("backward") as calls:
        x = gc.answer(grad_of_cubic, 2.0)
    d = gc.formula_only(d_ratio)            # a callable: runs d_ratio under no_grad, autograd forbidden
    before = gc.snapshot(x=x, v=v)          # ... call the answer ...
    before.assert_unchanged()
    gc.assert_dtype(x, torch.float64, name="x"); gc.assert_type(x, "tensor", name="x")

The watched functions are patched where they live (``torch.func.jacrev``) and wherever the student's
namespace holds them under a name of its own (``from torch.func import jacrev as jr``), so an import
made before the test is seen too. The rules catch what a beginner writes, not deliberate evasion (a
watched function kept in a list or a default argument is not seen).
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from collections import Counter

import torch

from .check import GradcoachAssertionError
from .i18n import joined, t

# Short names for the entry points the lessons talk about. "backward" is torch.autograd.backward,
# which Tensor.backward calls, so one backward pass counts once.
ALIASES = {
    "backward": ("torch.autograd.backward",),
    "grad": ("torch.autograd.grad",),
    "autograd": ("torch.autograd.backward", "torch.autograd.grad"),
    "functional": ("torch.autograd.functional.jacobian", "torch.autograd.functional.hessian",
                   "torch.autograd.functional.hvp", "torch.autograd.functional.vhp",
                   "torch.autograd.functional.vjp", "torch.autograd.functional.jvp"),
    "torch.func": ("torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian", "torch.func.vjp",
                   "torch.func.jvp", "torch.func.grad", "torch.func.grad_and_value", "torch.func.linearize"),
}


class RuleBroken(GradcoachAssertionError):
    """The answer broke a rule the exercise states (a forbidden function, a wrong dtype, a side effect)."""


def _broken(key: str, why: str = "", **values) -> RuleBroken:
    """The broken rule's message, the test's reason (``why``) after it."""
    return RuleBroken(joined(t(key, **values), why) if why else t(key, **values), codes=(key,))


def _expand(names) -> list[str]:
    out = []
    for name in names:
        for full in ALIASES.get(name, (name,)):
            if full not in out:
                out.append(full)
    return out


def _resolve(path: str):
    """(owner object, attribute name) for a dotted path such as 'torch.Tensor.backward'."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise ValueError(f"gradcoach: cannot find {path!r}")


#: how a forbidden entry point is named to the student: y.backward(v) reaches torch.autograd.backward,
#: a name they never typed
SHOWN = {"torch.autograd.backward": "Tensor.backward() / torch.autograd.backward"}
#: how a required name is shown when the test gives no ``what=``
REQUIRED_SHOWN = {"backward": "backward()", "grad": "torch.autograd.grad", "autograd": "torch.autograd.grad / backward()",
                  "torch.func": "torch.func", "functional": "torch.autograd.functional"}

# The active rules, and the originals of the functions they watch. A rule patches the module
# attribute when it starts and again right before the student's code runs (:func:`call`,
# :func:`formula_only`): the grader's guard puts pristine torch attributes back before every
# gradcoach call a test cell makes, so a patch made earlier in the cell may have been undone.
_ACTIVE: list = []
_ORIGINALS: dict = {}
_BOUND: list = []        # (namespace, key, original, watcher): aliases rebound by _apply
_NAMESPACES: list = []   # the globals of the answers called while a rule is active


class _Rule:
    def __init__(self, kind, names, why=None):
        self.kind, self.names, self.why, self.calls = kind, _expand(names), why, Calls()


def _dispatcher(name, original):
    def watched(*args, **kwargs):
        __tracebackhide__ = True
        for rule in list(_ACTIVE):
            if name in rule.names:
                if rule.kind == "forbid":
                    raise _broken("rule_forbidden", rule.why or "", name=SHOWN.get(name, name))
                rule.calls[name] += 1
        return original(*args, **kwargs)
    watched = functools.wraps(original)(watched)
    watched.__gradcoach_rule__ = True
    return watched


def student_namespaces(fn=None) -> list:
    """The namespaces a student's names live in: the notebook's (``__main__``) and ``fn``'s globals."""
    spaces = []
    main = sys.modules.get("__main__")
    found = getattr(inspect.unwrap(getattr(fn, "__func__", fn)), "__globals__", None) if fn is not None else None
    for ns in (vars(main) if main is not None else None, found):
        if type(ns) is dict and not str(ns.get("__name__", "")).startswith("gradcoach") \
                and all(ns is not seen for seen in spaces):
            spaces.append(ns)
    return spaces


def bind_aliases(namespaces, watchers: dict) -> list:
    """Rebind the names in ``namespaces`` that hold a watched function under a name of the student's
    (``from torch.autograd import grad``) to its watcher. ``watchers``: id(original) -> (original,
    watcher). Returns what :func:`unbind_aliases` puts back."""
    bound = []
    for ns in namespaces:
        for key, value in list(ns.items()):
            hit = watchers.get(id(value))
            if hit is not None and value is hit[0]:
                ns[key] = hit[1]
                bound.append((ns, key, hit[0], hit[1]))
    return bound


def unbind_aliases(bound) -> None:
    """Put back what :func:`bind_aliases` rebound, unless the student has rebound the name since."""
    for ns, key, original, watcher in reversed(bound):
        if ns.get(key) is watcher:
            ns[key] = original


def _apply(fn=None) -> None:
    """Install the watchers of every active rule (again, where something put the originals back),
    also under the names the student's namespaces (and ``fn``'s) give the watched functions."""
    for rule in _ACTIVE:
        for name in rule.names:
            owner, attr = _resolve(name)
            current = getattr(owner, attr)
            if getattr(current, "__gradcoach_rule__", False):
                continue
            _ORIGINALS[name] = (owner, attr, current)
            setattr(owner, attr, _dispatcher(name, current))
    if not _ACTIVE:
        return
    for ns in student_namespaces(fn):
        if all(ns is not seen for seen in _NAMESPACES):
            _NAMESPACES.append(ns)
    watchers = {id(original): (original, getattr(owner, attr)) for owner, attr, original in _ORIGINALS.values()}
    _BOUND.extend(bind_aliases(_NAMESPACES, watchers))


def _release() -> None:
    """Put back the originals of the functions no active rule watches any more."""
    watched = {name for rule in _ACTIVE for name in rule.names}
    released = {id(_ORIGINALS[n][2]) for n in _ORIGINALS if n not in watched}
    kept = [b for b in _BOUND if id(b[2]) not in released]
    unbind_aliases([b for b in _BOUND if id(b[2]) in released])
    _BOUND[:] = kept
    if not _ACTIVE:
        _NAMESPACES.clear()
    for name in [n for n in _ORIGINALS if n not in watched]:
        owner, attr, original = _ORIGINALS.pop(name)
        if getattr(getattr(owner, attr), "__gradcoach_rule__", False):
            setattr(owner, attr, original)


def watch_answer(fn) -> None:
    """Called by :func:`gradcoach.answer` before it runs ``fn``: the active rules see the names
    ``fn``'s module imported too."""
    if _ACTIVE:
        _apply(fn)


@contextlib.contextmanager
def _active(rule):
    _ACTIVE.append(rule)
    try:
        _apply()
        yield rule
    finally:
        _ACTIVE.remove(rule)
        _release()


@contextlib.contextmanager
def forbid(*names, why: str | None = None):
    """While the block runs, calling any of ``names`` raises :class:`RuleBroken` with a localized
    message naming the function (and ``why``, if given). Names are dotted paths or the short names
    of :data:`ALIASES` ("backward", "grad", "autograd", "functional", "torch.func")."""
    with _active(_Rule("forbid", names, why)):
        yield


class Calls(Counter):
    """How many times each watched function was called (by its dotted name)."""

    def total(self) -> int:  # Counter.total exists from Python 3.10; keep it explicit
        return sum(self.values())


@contextlib.contextmanager
def count_calls(*names, at_most: int | None = None, why: str | None = None):
    """Count the calls of ``names`` while the block runs; yields a :class:`Calls`. A call made from
    inside another watched call (jacobian calling autograd.grad) is counted too. With ``at_most``,
    a block that ends with more calls raises :class:`RuleBroken` (the method the task describes
    needs no more: an H·v from the whole Hessian, row by row), ``why`` after the message."""
    with _active(_Rule("count", names)) as rule:
        yield rule.calls
    if at_most is not None and rule.calls.total() > at_most:
        raise _broken("rule_too_many", why or "", n=rule.calls.total(), most=at_most,
                      name=" / ".join(REQUIRED_SHOWN.get(n, n) for n in names))


@contextlib.contextmanager
def require(*names, what: str | None = None):
    """Like :func:`count_calls`, and when the block ends without an error, raise :class:`RuleBroken`
    unless at least one of ``names`` was called (the answer must really use it)."""
    with count_calls(*names) as calls:
        yield calls
    if calls.total() == 0:
        if what is None and len(names) > 1:  # any one of them would do: say so, and list them once
            raise _broken("rule_required_any", name=" / ".join(REQUIRED_SHOWN.get(n, n) for n in names))
        raise _broken("rule_required", name=what or REQUIRED_SHOWN.get(names[0], names[0]))


FORMULA_FORBIDDEN = ("autograd", "functional", "torch.func", "gradcoach.finite_difference")


def formula_only(fn, *, name: str | None = None):
    """``fn`` as a callable that evaluates a hand-derived formula: it runs under ``torch.no_grad()``
    with autograd, ``torch.func`` and ``gc.finite_difference`` forbidden, through :func:`gradcoach.answer`
    (so a stub is "not answered yet"). The result is returned as a float64 tensor value."""
    from . import answer

    @functools.wraps(fn)
    def evaluated(*args):
        __tracebackhide__ = True
        detached = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
        with forbid(*FORMULA_FORBIDDEN, why=t("rule_formula_why")), torch.no_grad():
            return _answer_reporting_rules(answer, fn, detached)
    if name:
        evaluated.__name__ = name
    return evaluated


def _answer_reporting_rules(answer, fn, args):
    """``answer(fn, *args)``, a broken rule raised as itself rather than as "your function raised"."""
    __tracebackhide__ = True
    try:
        return answer(fn, *args)
    except GradcoachAssertionError as exc:
        if isinstance(exc.__cause__, RuleBroken):
            raise exc.__cause__ from None
        raise


def call(fn, *args, forbid_names=(), require_names=(), what=None):
    """``gradcoach.answer(fn, *args)`` with the given names forbidden and/or required; a broken
    rule is reported as itself (not as "your function raised")."""
    from . import answer
    __tracebackhide__ = True
    with contextlib.ExitStack() as stack:
        if forbid_names:
            stack.enter_context(forbid(*forbid_names))
        if require_names:
            stack.enter_context(require(*require_names, what=what))
        _apply(fn)  # the rules of an enclosing `with gc.require(...)` too, in case the grader restored torch
        return _answer_reporting_rules(answer, fn, args)


# --- dtype and type ------------------------------------------------------------------------------

def assert_dtype(got, dtype, *, name="value"):
    """``got`` is a tensor of exactly ``dtype`` (float32/bfloat16 do not pass where float64 is asked)."""
    __tracebackhide__ = True
    assert_type(got, "tensor", name=name)
    if got.dtype != dtype:
        # a leaf that requires grad cannot be converted: .to() would return a non-leaf copy
        key = "rule_dtype_leaf" if got.requires_grad and got.grad_fn is None else "rule_dtype"
        raise _broken(key, name=name, got=str(got.dtype).replace("torch.", ""), want=str(dtype).replace("torch.", ""))
    return got


def assert_type(got, kind, *, name="value"):
    """``kind``: "tensor" (a torch.Tensor), "number" (a Python int/float, not a tensor) or a type."""
    __tracebackhide__ = True
    if kind == "tensor":
        if type(got) is not torch.Tensor and not isinstance(got, torch.nn.Parameter):
            raise _broken("rule_not_tensor", name=name, got=type(got).__name__)
    elif kind == "number":
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise _broken("rule_not_number", name=name, got=type(got).__name__)
    elif not isinstance(got, kind):
        raise _broken("rule_wrong_type", name=name, got=type(got).__name__, want=kind.__name__)
    return got


def assert_shape(got, shape, *, name="value"):
    """``got`` is a tensor of exactly ``shape``."""
    __tracebackhide__ = True
    assert_type(got, "tensor", name=name)
    if tuple(got.shape) != tuple(shape):
        message = t("rule_shape", name=name, got=tuple(got.shape), want=tuple(shape))
        if len(shape) == 2 and shape[0] != shape[1] and tuple(got.shape) == tuple(shape)[::-1]:
            message = joined(message, t("hint_shape_reversed"))  # a Jacobian transposed, most often
        raise RuleBroken(message, codes=("rule_shape",))
    return got


# --- side effects ---------------------------------------------------------------------------------

class Snapshot:
    """The caller's tensors (values, requires_grad, .grad) and the grad mode, taken before an answer
    runs; :meth:`assert_unchanged` says, in the notebook's language, what the answer changed."""

    def __init__(self, tensors: dict):
        self.grad_mode = torch.is_grad_enabled()
        self.items = {}
        for name, x in tensors.items():
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"gradcoach.snapshot: {name} is a {type(x).__name__}, not a tensor")
            grad = x.grad.detach().clone() if x.is_leaf and x.grad is not None else None
            self.items[name] = (x, x.detach().clone(), x.requires_grad, grad)

    def problems(self) -> list[str]:
        out = []
        if torch.is_grad_enabled() != self.grad_mode:
            out.append(t("rule_side_grad_mode", before=self.grad_mode, after=torch.is_grad_enabled()))
        for name, (x, value, requires_grad, grad) in self.items.items():
            now = x.detach()
            if now.shape != value.shape or now.dtype != value.dtype or not torch.equal(now, value):
                out.append(t("rule_side_value", name=name))
            if x.requires_grad != requires_grad:
                out.append(t("rule_side_requires_grad", name=name, before=requires_grad, after=x.requires_grad))
            if x.is_leaf:
                now_grad = x.grad
                if (grad is None) != (now_grad is None) or (
                        grad is not None and not torch.equal(grad, now_grad.detach())):
                    out.append(t(_side_grad_key(x), name=name))
        return out

    def assert_unchanged(self):
        __tracebackhide__ = True
        problems = self.problems()
        # switched back: left off, it would break every later cell with a misleading error
        torch.set_grad_enabled(self.grad_mode)
        if problems:
            raise RuleBroken("\n".join([t("rule_side_header")] + problems), codes=("rule_side_effect",))


def _side_grad_key(x) -> str:
    """The answer wrote into the caller's ``x.grad``. When what it returned still reaches ``x`` (a loss
    the test is to call backward() on), the backward() inside the answer is the mistake, and a leaf
    of its own would cut the path the task keeps; otherwise the answer should start from its own leaf."""
    from .evidence import last_answer
    result = last_answer.get("result")
    results = result if type(result) in (tuple, list) else (result,)
    return "rule_side_grad_returned" if any(reaches(r, x) for r in results) else "rule_side_grad"


def snapshot(*tensors, **named) -> Snapshot:
    """Take a :class:`Snapshot` of ``tensors`` (named ``arg0``, ``arg1``…) and ``named`` tensors."""
    items = {f"arg{i}": x for i, x in enumerate(tensors)}
    items.update(named)
    return Snapshot(items)


def reaches(out, leaf) -> bool:
    """Whether the graph of ``out`` reaches the leaf tensor ``leaf`` (works after backward too)."""
    if not isinstance(out, torch.Tensor) or out.grad_fn is None:
        return False
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if getattr(node, "variable", None) is leaf:
            return True
        stack.extend(fn for fn, _ in node.next_functions)
    return False


def assert_connected(out, leaf, *, name="value", leaf_name="x"):
    """``out`` is a tensor whose graph still reaches ``leaf`` (a path the task says to keep): a number,
    or a detached copy, would let a test of the paths that were cut pass without looking."""
    __tracebackhide__ = True
    assert_type(out, "tensor", name=name)
    if not reaches(out, leaf):
        raise _broken("rule_not_connected", name=name, leaf=leaf_name)


def assert_not_connected(out, leaf, *, name="value", leaf_name="x"):
    """The graph of ``out`` does not reach ``leaf``: the path was cut (detach, no_grad), not merely
    its gradient thrown away afterwards."""
    __tracebackhide__ = True
    if reaches(out, leaf):
        raise _broken("rule_connected", name=name, leaf=leaf_name)
