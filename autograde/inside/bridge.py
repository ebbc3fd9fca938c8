"""Runs in the student's kernel while grading: the fixed routine that answers the checker.

The test cells run in a separate checker process (inside/checker.py). When a test needs
something of the student's, the grader relays a kernel message of a per-kernel random type to
this handler: ``lookup`` (a name of the notebook: a tensor or number comes back as data, a
function or class as a reference) or ``call`` (call the student's function with the arguments,
which arrive as data, and send back the result as data with the structural facts the checks
need: ``requires_grad``, ``is_leaf``, ``.grad``, the ``grad_fn`` chain, which arguments its graph
reaches and its Jacobian with respect to them, what the call did to the arguments, and how often
it called the functions the test's rules watch). An object of a class the notebook defines
(lesson 07's ``Value``) goes as a snapshot of its attributes, the objects it points to by
handle, so that the checker can walk a graph and call the object's methods here. A test's torch
modules and optimizers arrive as mirrors (inside/mirror.py): copies kept here across calls, with
the checker's state before a call and theirs sent back after it; other objects a call returns go
by handle. Nothing here decides a score: a student who
rewrites this routine can only misreport their own answer's data.
"""
from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import operator
import pickle
import sys
import types
from collections import Counter, deque

import mirror
import torch
from limits import MAX_REPLY
from wire import WireError, decode, decode_function, make_tensor, plain, tensor_bytes, tensor_data

MAX_JACOBIAN = 1_000_000
MAX_OBJECTS = 200_000   # objects described in one reply (the others go by handle and are asked for later)
MAX_ATTRS = 64
#: what the checker may apply to the student's objects as ``a <op> b`` (its operators on snapshots)
OPERATORS = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos", "abs", "lt", "le",
             "gt", "ge")
_TensorBase = torch._C.TensorBase
_grad_get = _TensorBase.__dict__["grad"].__get__
_autograd_grad = torch.autograd.grad
_Function = torch.autograd.Function
_base_setup_context = torch.autograd.function._SingleLevelFunction.setup_context
_OPS = {**{name: getattr(operator, name) for name in OPERATORS},
        "call": lambda fn, *args: fn(*args)}  # gradcoach.student_side: a test's own function, run here
_S: dict = {}
_OBJECTS: dict = {}     # handle -> a student object the checker holds a snapshot of (kept alive: ids stay unique)
_HANDLES: dict = {}     # id(object) -> handle
_MIRRORS: dict = {}     # mirror id -> this kernel's copy of a test's module or optimizer (inside/mirror.py)
_MIRROR_OF: dict = {}   # id(copy) -> mirror id


def install(shell, entry: str) -> None:
    """Register the handler of the checker's requests (``entry``: the per-kernel message type)."""
    kernel = shell.kernel
    _S["shell"] = shell

    def handle(stream, idents, parent):
        try:
            reply = serve(parent.get("content", {}))
        except BaseException as exc:  # noqa: BLE001 - an interrupt, or a broken request: the checker is told
            reply = {"error": f"{type(exc).__name__}"}
        try:
            text = json.dumps(reply)
        except (TypeError, ValueError):
            text = json.dumps({"error": "unencodable"})
        if len(text) > MAX_REPLY:  # the relay would drop it, and its socket with it
            text = json.dumps({"error": f"too_large:{len(text)}"})
        kernel.session.send(stream, f"{entry}_reply", {"json": text}, parent, ident=idents)

    handle.__module__ = __name__
    kernel.shell_handlers[entry] = handle


def serve(request: dict) -> dict:
    if request.get("op") == "lookup":
        ref = {k: request[k] for k in ("name", "h") if k in request}
        ref["attrs"] = request.get("attrs", [])
        found, value = _resolve(ref)
        objects = _Objects(_facts_of_global)
        reply = {"found": found, "value": _describe(value, ref, objects) if found else None}
        reply["objects"] = objects.finish()
        return reply
    if request.get("op") == "refresh":  # the checker's snapshots are stale: the objects as they are now
        objects = _Objects(_facts_of_global)
        for h in request.get("h", [])[:MAX_OBJECTS]:
            if type(h) is int and h in _OBJECTS:
                objects.ref(_OBJECTS[h])
        return {"objects": objects.finish()}
    if request.get("op") == "call":
        return _Call(request).run()
    return {"error": "unknown request"}


def _resolve(ref: dict):
    """What a reference names: a name of the notebook, a student object the checker holds a
    handle to (``h``), or an operator; then ``attrs`` in turn."""
    if type(ref) is not dict:
        return False, None
    attrs = ref.get("attrs", [])
    if "h" in ref:
        if type(ref["h"]) is not int or ref["h"] not in _OBJECTS:
            return False, None
        value = _OBJECTS[ref["h"]]
    elif "operator" in ref:
        if ref["operator"] not in _OPS or attrs:
            return False, None
        return True, _OPS[ref["operator"]]
    else:
        namespace = _S["shell"].user_ns
        name = ref.get("name")
        if type(name) is not str or name not in namespace:
            return False, None
        value = namespace[name]
    for attr in attrs:
        try:
            value = getattr(value, attr)
        except AttributeError:
            return False, None
    return True, value


def _describe(value, ref: dict, objects: "_Objects"):
    if callable(value) and type(value) not in (torch.Tensor, torch.nn.Parameter) and not _snapshottable(value):
        label = ".".join(str(a) for a in ref.get("attrs", [])[-1:]) if "h" in ref else ref.get("name")
        out = {"t": "ref", **{k: ref[k] for k in ("name", "h") if k in ref}, "attrs": list(ref.get("attrs", [])),
               "kind": "class" if isinstance(value, type) else "function",
               "label": str(getattr(value, "__name__", label))[:200]}
        if isinstance(value, type) and issubclass(value, _Function):  # gradcoach.structure.function_form
            out["form"] = "setup_context" if value.setup_context is not _base_setup_context else "ctx_in_forward"
        return out
    return plain(value, tensor=_facts_of_global, other=objects.ref)


def _snapshottable(value) -> bool:
    """An instance of a class the notebook defined (a ``Value``): sent as a snapshot of its attributes."""
    kind = type(value)
    return getattr(kind, "__module__", None) == "__main__" and hasattr(value, "__dict__") and \
        not isinstance(value, (type, types.FunctionType, types.MethodType, types.ModuleType))


def _handle(value) -> int:
    h = _HANDLES.get(id(value))
    if h is None or _OBJECTS.get(h) is not value:
        h = len(_OBJECTS) + 1
        _OBJECTS[h], _HANDLES[id(value)] = value, h
    return h


class _Objects:
    """The student's own objects in one reply: each object reached is described once (its class's
    names in the notebook, its repr, its instance attributes as data, other such objects by handle),
    breadth first, so that a graph of any depth goes as a flat table."""

    def __init__(self, tensor):
        self.tensor = tensor
        self.described: dict = {}
        self.queue: deque = deque()
        self._classes = None

    def ref(self, value):
        mid = _MIRROR_OF.get(id(value))
        if mid is not None and _MIRRORS.get(mid) is value:
            return {"t": "mirror", "m": mid, "path": ""}
        part = mirror.part_of(_MIRRORS, value)
        if part is not None:
            return {"t": "mirror", "m": part[0], "path": part[1]}
        if not _snapshottable(value):
            if callable(value) or isinstance(value, (type, types.ModuleType)):
                return None
            kind = type(value)  # another object (a hook's RemovableHandle): by handle, its methods run here
            return {"t": "held", "h": _handle(value), "type": f"{kind.__module__}.{kind.__qualname__}"[:120]}
        h = _handle(value)
        if h not in self.described and len(self.described) < MAX_OBJECTS:
            self.described[h] = None
            self.queue.append((h, value))
        return {"t": "obj", "h": h}

    def finish(self) -> dict:
        while self.queue:
            h, value = self.queue.popleft()
            self.described[h] = self._describe(value)
        return {str(h): d for h, d in self.described.items() if d is not None}

    def _names(self, value) -> list:
        if self._classes is None:
            self._classes = {}
            for name, v in list(_S["shell"].user_ns.items()):
                if isinstance(v, type) and not name.startswith("_"):
                    self._classes.setdefault(id(v), []).append(name)
        return [n for cls in type(value).__mro__ for n in self._classes.get(id(cls), [])][:16]

    def _describe(self, value) -> dict:
        attrs = {}
        try:
            items = list(vars(value).items())
        except TypeError:
            items = []
        for key, v in items:
            if type(key) is not str or len(attrs) >= MAX_ATTRS or callable(v) and not _snapshottable(v):
                continue
            try:
                attrs[key] = plain(v, 1, self.tensor, self.ref)
            except (WireError, RuntimeError, TypeError, ValueError):
                attrs[key] = {"t": "opaque", "type": type(v).__name__[:80]}
        try:
            text = repr(value)[:200]
        except Exception:  # noqa: BLE001 - a student's __repr__ that fails
            text = ""
        return {"type": type(value).__name__[:80], "names": self._names(value), "repr": text, "attrs": attrs}


def _facts_of_global(t):
    return _facts(t, [], {})


def _grad_data(t):
    try:
        grad = _grad_get(t) if t.is_leaf or t.retains_grad else None
    except RuntimeError:
        grad = None
    return tensor_data(grad) if type(grad) is torch.Tensor else None


def _chain(t, limit=64) -> list:
    names, seen, stack = [], set(), [t.grad_fn]
    while stack and len(names) < limit:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(fn for fn, _ in getattr(node, "next_functions", ()))
    return names


def _leaves(t) -> list:
    found, seen, stack = [], set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            found.append(variable)
        stack.extend(fn for fn, _ in getattr(node, "next_functions", ()))
    return found


def _facts(t, targets, index) -> dict:
    """A result tensor as data: values and structure; ``targets`` are the tensors the arguments
    became here (their graph leaves), ``index`` maps id(argument) to its position."""
    if id(t) in index:
        return {"t": "input", "i": index[id(t)]}
    d = tensor_data(t)
    d.update(requires_grad=bool(t.requires_grad), leaf=bool(t.is_leaf), retains=bool(t.retains_grad),
             parameter=isinstance(t, torch.nn.Parameter), grad=_grad_data(t),
             grad_fn=type(t.grad_fn).__name__ if t.grad_fn is not None else None, chain=_chain(t) if t.grad_fn else [])
    if t.grad_fn is not None:
        leaves = {id(v) for v in _leaves(t)}
        reached = [i for i, leaf in enumerate(targets) if leaf is not None and id(leaf) in leaves]
        d["reached"] = reached
        d["jac"] = _jacobian(t, [targets[i] for i in reached]) if reached else None
    return d


def _jacobian(t, leaves):
    n = t.numel()
    if n == 0 or n * sum(leaf.numel() for leaf in leaves) > MAX_JACOBIAN:
        return None
    rows = [[] for _ in leaves]
    try:
        with torch.enable_grad():
            flat = t.reshape(-1)
            for k in range(n):
                grads = _autograd_grad(flat[k], leaves, retain_graph=True, allow_unused=True)
                for row, g, leaf in zip(rows, grads, leaves, strict=True):
                    row.append(torch.zeros(leaf.numel(), dtype=leaf.dtype) if g is None else g.detach().reshape(-1))
    except RuntimeError:  # the answer already ran backward and freed its graph
        return None
    return [tensor_data(torch.stack(row)) for row in rows]


class _Call:
    def __init__(self, request: dict):
        self.request = request
        self.args_in: list = []     # (tensor the function gets, its graph leaf here, its original bytes)
        self.lists: list = []       # (a list argument holding the checker's snapshots, ids of its items)

    def _tensor_arg(self, d):
        t = make_tensor(d)
        leaf = None
        if d.get("requires_grad"):
            if d.get("leaf", True):
                t.requires_grad_()
                leaf = t
                if d.get("grad") is not None:
                    t.grad = make_tensor(d["grad"])
                if d.get("parameter"):
                    t = leaf = torch.nn.Parameter(t.detach())
            else:  # a non-leaf argument: made from a leaf here, so its graph can be followed back
                leaf = t.requires_grad_()
                t = leaf.clone()
        self.args_in.append((t, leaf, d.get("data")))
        return t

    def _other(self, d):
        if d.get("t") == "argref":
            return self.args_in[d["i"]][0]
        if d.get("t") == "function":
            return decode_function(d, lambda v: decode(v, tensor=self._tensor_arg, other=self._other), {})
        if d.get("t") == "ref":
            found, value = _resolve(d)
            if not found:
                raise NameError(d.get("name"))
            return value
        if d.get("t") in ("obj", "held"):
            if d.get("h") not in _OBJECTS:
                raise NameError("object")
            return _OBJECTS[d["h"]]
        if d.get("t") == "mirror":
            return _MIRRORS[d["m"]].get_submodule(d["path"]) if d.get("path") else _MIRRORS[d["m"]]
        if d.get("t") == "mlist":  # what the function does to this list, the checker's list does too
            items = decode(d.get("v"), tensor=self._tensor_arg, other=self._other)
            if type(items) is not list:
                raise ValueError("bad list")
            self.lists.append((items, [id(v) for v in items]))
            return items
        if d.get("t") == "module":
            return sys.modules.get(d["v"]) or importlib.import_module(d["v"])
        raise ValueError("unknown argument")

    def run(self) -> dict:
        req = self.request
        found, fn = _resolve(req["fn"])
        if not found:
            return {"missing": True}
        mirrors = _load_mirrors(req.get("mirrors", []))
        args = decode(req.get("args", []), tensor=self._tensor_arg, other=self._other)
        kwargs = decode(req.get("kwargs", {"t": "dict", "v": {}}), tensor=self._tensor_arg, other=self._other)
        out = io.StringIO()
        watch = _Watch(req.get("rules", []), fn)
        raised, result = None, None
        grad_enabled = bool(req.get("grad_enabled", True))
        saved = []
        counting = torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(1) or t, lambda t: t) \
            if req.get("count_saved") else contextlib.nullcontext()
        with torch.set_grad_enabled(grad_enabled):
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), watch, counting:
                    result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - what the function raised goes to the checker
                raised = _raised(exc)
            grad_after = torch.is_grad_enabled()
        # what the function printed stays here: a test cell shows the checker's output only
        reply = {"raised": raised, "calls": dict(watch.calls),
                 "forbidden": watch.forbidden, "grad_enabled": grad_after, "saved": len(saved)}
        targets = [leaf for _t, leaf, _raw in self.args_in]
        index = {id(t): i for i, (t, _leaf, _raw) in enumerate(self.args_in)}
        objects = _Objects(lambda t: _facts(t, targets, index))
        if raised is None:
            reply["result"] = plain(result, tensor=objects.tensor, other=objects.ref)
        reply["args"] = [self._after(t, leaf, raw) for t, leaf, raw in self.args_in]
        reply["lists"] = {str(k): plain(items, tensor=objects.tensor, other=objects.ref)
                          for k, (items, ids) in enumerate(self.lists) if [id(v) for v in items] != ids}
        reply["mirrors"] = {str(mid): _mirror_state(_MIRRORS[mid]) for mid in mirrors}
        reply["objects"] = objects.finish()
        return reply

    @staticmethod
    def _after(t, leaf, raw) -> dict:
        state = {"requires_grad": bool(t.requires_grad)}
        try:
            state["value"] = tensor_data(t) if tensor_bytes(t) != _b64decode(raw) else None
        except (RuntimeError, ValueError):
            state["value"] = None
        state["grad"] = _grad_data(t) if t.is_leaf else None
        if leaf is not None and leaf is not t:
            state["leaf_grad"] = _grad_data(leaf)
        return state


def _load_mirrors(specs: list) -> list:
    """The checker's modules and optimizers this call gets: copies kept here from the first call
    on, given the state the checker's objects have now; their ids."""
    mids = []
    for spec in specs:
        mid = spec["m"]
        if "pickle" in spec:  # from the checker, never from the student: trusted
            value = pickle.loads(base64.b64decode(spec["pickle"]))
        elif "optim" in spec:
            cls = getattr(torch.optim, spec["optim"])
            hyper = [decode(h) for h in spec["state"]["hyper"]]
            value = cls([{**h, "params": [_mirror_param(m, n) for m, n in g["params"]]}
                         for g, h in zip(spec["groups"], hyper, strict=True)])
        else:
            value = _MIRRORS[mid]
        _MIRRORS[mid], _MIRROR_OF[id(value)] = value, mid
        if isinstance(value, torch.nn.Module):
            mirror.apply_module_state(value, spec["state"])
        else:
            mirror.apply_optimizer_state(value, spec["state"], _mirror_param)
        mids.append(mid)
    return mids


def _mirror_param(mid, name):
    return mirror.param_of(_MIRRORS, mid, name)


def _mirror_state(value) -> dict:
    if isinstance(value, torch.nn.Module):
        return mirror.module_state(value)
    owners = mirror.owners(_MIRRORS)
    return mirror.optimizer_state(value, lambda p: owners.get(id(p)))


def _b64decode(raw):
    return base64.b64decode(raw or "")


def _raised(exc) -> dict:
    try:
        message = str(exc)[:4000]
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ fails
        message = ""
    return {"type": type(exc).__name__[:100], "message": message, "exception": isinstance(exc, Exception),
            "not_implemented": isinstance(exc, NotImplementedError), "where": _raised_where(exc),
            "grad_none_value": _grad_none_value(exc),
            "interrupt": isinstance(exc, KeyboardInterrupt)}


def _grad_none_value(exc) -> bool:
    """gradcoach.explain's verdict on a None ``.grad`` met in the student's own engine (their frames stay here)."""
    try:
        from gradcoach.explain import grad_none_on_value
        return grad_none_on_value(exc)
    except Exception:  # noqa: BLE001 - a student's object whose attributes fail to read: no verdict
        return False


def _raised_where(exc) -> str | None:
    """The notebook's function whose line raised ``exc`` (gradcoach names a stub's method with it)."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "__main__":
            code = tb.tb_frame.f_code
            found = getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    found = found.rsplit("<locals>.", 1)[-1] if isinstance(found, str) else None
    return found[:200] if found and not found.startswith("<") else None


class _Watch:
    """The checker's active rules (gradcoach.require/forbid/count_calls), applied here while the
    student's function runs: the watched functions are counted, forbidden ones raise, also when the
    notebook imported them under names of its own (gradcoach.rules.bind_aliases)."""

    def __init__(self, rules: list, fn=None):
        self.rules = [r for r in rules if type(r) is dict]
        self.fn = fn
        self.calls: Counter = Counter()
        self.forbidden = None
        self.patched = []
        self.bound = []

    def __enter__(self):
        from gradcoach.i18n import t
        from gradcoach.rules import RuleBroken, _resolve, bind_aliases, student_namespaces, unbind_aliases

        self.unbind = unbind_aliases

        forbidden = {n: r.get("why") for r in self.rules if r.get("kind") == "forbid" for n in r.get("names", [])}
        names = {n for r in self.rules for n in r.get("names", []) if type(n) is str}
        for name in sorted(names):
            try:
                owner, attr = _resolve(name)
                original = getattr(owner, attr)
            except (ValueError, AttributeError, ImportError):
                continue

            def watched(*a, __name=name, __original=original, **k):
                __tracebackhide__ = True
                if __name in forbidden:
                    if self.forbidden is None:
                        self.forbidden = __name
                    why = forbidden[__name]
                    raise RuleBroken(t("rule_forbidden", name=__name) + (f" {why}" if why else ""),
                                     codes=("rule_forbidden",))
                self.calls[__name] += 1
                return __original(*a, **k)

            watched.__gradcoach_rule__ = True
            self.patched.append((owner, attr, original))
            setattr(owner, attr, watched)
        watchers = {id(original): (original, getattr(owner, attr)) for owner, attr, original in self.patched}
        if watchers:
            self.bound = bind_aliases(student_namespaces(self.fn), watchers)
        return self

    def __exit__(self, *exc):
        self.unbind(self.bound)
        for owner, attr, original in reversed(self.patched):
            setattr(owner, attr, original)
        return False
