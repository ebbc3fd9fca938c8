"""The checker: the kernel that runs a notebook's test cells while grading, apart from the student.

boot.py starts it (role ``checker``) next to the student's kernel, in the same sandbox under a
uid of its own, from the zygote's pristine torch, NumPy and gradcoach; no student code ever runs
here. A test cell's names resolve in this kernel's namespace first; a name it does not define is
looked up in the student's kernel (:class:`Namespace`): a tensor or number comes across as data,
a function or class as a :class:`Remote`, an object of a class the notebook defines as a
:class:`Snapshot` (its attributes as data, read afresh after any of the student's code ran). A
torch module or optimizer the test hands over is mirrored there (inside/mirror.py). Calling a Remote (what ``gc.answer``, ``gc.call`` and
``gc.formula_only`` do) sends the arguments as data, runs the student's function *there* under
the rules the test has active (``gc.require``/``forbid``/``count_calls``), and rebuilds the
result here from data: values, ``.grad``, ``requires_grad``, ``is_leaf``, the ``grad_fn`` name
and a graph back to the test's own tensors whose backward is the student's Jacobian. What the
call did to the arguments (in-place changes, ``.grad`` from a ``backward()`` inside it) is
applied to the test's tensors. gradcoach itself is unchanged: its ``answer`` calls the Remote
like any function. Requests go through the grader (a ZeroMQ socket in this kernel's private
directory that only the grader connects to); the student's process cannot reach this one.
"""
from __future__ import annotations

import builtins
import itertools
import json
import sys
import weakref

import mirror
import torch
import zmq
from limits import MAX_MESSAGE
from wire import Opaque, WireError, decode, encode_function, make_tensor, plain, tensor_data

_S: dict = {}
_ids = itertools.count(1)
_backward = torch.autograd.backward


class StudentUnavailable(BaseException):
    """The student's kernel gave no usable answer; ``args[0]`` is the code the grader explains
    (execute.py): ``stopped`` (it died), ``no_answer`` (it hung) or ``unreadable`` (anything else).
    Not an Exception, like AnswerTooLarge: gradcoach must not report it as the student's function
    raising, nor take a missing answer as evidence."""

    CODES = ("stopped", "no_answer", "unreadable")

    def __init__(self, code: str = "unreadable"):
        super().__init__(code if code in self.CODES else "unreadable")


class AnswerTooLarge(BaseException):
    """The student's kernel refused to send a reply bigger than one message holds (bridge.py,
    MAX_REPLY). Not an Exception: gradcoach must not report it as the student's function raising;
    the grader explains it (execute.py)."""


def install(cfg: dict, shell) -> None:
    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(f"ipc://{cfg['bridge']}")
    _S.update(sock=sock, shell=shell, lang=cfg.get("lang", "en"))

    def fresh_grad_mode(*_args):
        # a student's function that switched grad mode off globally shows in the test that called
        # it (gc.snapshot sees it), not in every test after it
        torch.set_grad_enabled(True)

    fresh_grad_mode.__module__ = __name__
    shell.events.register("pre_run_cell", fresh_grad_mode)
    import gradcoach
    gradcoach._student_side = lambda fn, args: _operator("call", fn, *args)


class Namespace(dict):
    """The checker's user namespace: a name the test does not define comes from the student."""

    def __missing__(self, name):
        if name.startswith("_") or hasattr(builtins, name) or "sock" not in _S:
            raise KeyError(name)
        found, value = lookup(name, [])
        if not found:
            raise KeyError(name)
        return value


def _request(payload: dict) -> dict:
    sock = _S["sock"]
    ident = next(_ids)
    sock.send(json.dumps({"id": ident, "request": payload}).encode())
    while True:
        reply = json.loads(sock.recv())
        if reply.get("id") != ident:
            continue  # the late answer to a request that was interrupted
        if "error" in reply:
            raise StudentUnavailable(str(reply["error"]))
        try:
            data = json.loads(reply["json"])
        except (KeyError, TypeError, ValueError, RecursionError):
            raise StudentUnavailable() from None
        if type(data) is dict and str(data.get("error", "")).startswith("too_large:"):
            raise AnswerTooLarge(str(data["error"])[:40])
        if type(data) is not dict or "error" in data:
            raise StudentUnavailable()
        return data


def lookup(name, attrs: list):
    """``name`` of the notebook, or the student's object behind a snapshot (``name`` a handle), then ``attrs``."""
    where = {"h": name} if type(name) is int else {"name": name}
    reply = _request({"op": "lookup", **where, "attrs": attrs})
    if not reply.get("found"):
        return False, None
    try:
        described = _objects(reply.get("objects"))  # noqa: F841 - alive until the value holds what it needs
        return True, decode(reply.get("value"), tensor=lambda d: _rebuild(d, []), other=_other)
    except (WireError, RuntimeError, TypeError, ValueError, KeyError):
        return True, Opaque("unreadable")


def _other(d: dict):
    if d.get("t") == "obj":
        return _snapshot(d)
    if d.get("t") == "mirror":
        found = _MIRRORED.get(d.get("m")) if type(d.get("m")) is int else None
        if found is None or type(d.get("path", "")) is not str:
            raise WireError("bad mirror")
        try:
            return found.get_submodule(d["path"]) if d.get("path") else found
        except AttributeError:
            raise WireError("bad mirror") from None
    if d.get("t") == "held":
        return _held(d)
    return _ref(d)


def _ref(d: dict):
    attrs = d.get("attrs", [])
    if d.get("t") != "ref" or type(attrs) is not list or not all(type(a) is str for a in attrs):
        raise WireError("bad reference")
    if type(d.get("h")) is int:
        where = {"h": d["h"]}
    elif type(d.get("name")) is str:
        where = {"name": d["name"]}
    else:
        raise WireError("bad reference")
    remote = Remote(where, attrs, str(d.get("label", d.get("name", "")))[:200])
    if d.get("form") in ("setup_context", "ctx_in_forward"):  # read by gradcoach.structure.function_form
        remote.__gradcoach_form__ = d["form"]
    return remote


class Remote:
    """A function or class of the student's notebook (or a method of one of the student's objects),
    called in the student's kernel."""

    def __init__(self, where: dict | str, attrs: list, label: str):
        where = {"name": where} if type(where) is str else where
        self._ref = {**where, "attrs": list(attrs)}
        self.__name__ = self.__qualname__ = label

    def __repr__(self) -> str:
        return f"<student's {self.__name__}>"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        found, value = lookup(self._ref.get("h", self._ref.get("name")), [*self._ref["attrs"], attr])
        if not found:
            raise AttributeError(attr)
        return value

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True
        return _call(self, args, kwargs)

    def __instancecheck__(self, value) -> bool:
        """``isinstance(snapshot, Value)`` for a class of the notebook: by the names the student's
        kernel gave for the object's classes."""
        if not isinstance(value, Snapshot) or "name" not in self._ref or self._ref["attrs"]:
            return False
        if object.__getattribute__(value, "_ag_epoch") == -1:  # known by its handle only, so far
            _refresh([object.__getattribute__(value, "_ag_h")])
        return self._ref["name"] in object.__getattribute__(value, "_ag_names")


# --- the student's own objects -------------------------------------------------------------------

_SNAPSHOTS: "weakref.WeakValueDictionary[int, Snapshot]" = weakref.WeakValueDictionary()
_EPOCH = [0]   # one more after each call into the student's kernel: every snapshot may be stale then
_CLASSES: dict = {}


class Snapshot:
    """An object of a class the student's notebook defined (a ``Value``), as data: its instance
    attributes, read here, and refreshed from the student's kernel after any of its code ran. One
    snapshot per student object, so identity (``is``, ``id``, sets) means what it means there.
    Its methods and operators run in the student's kernel; nothing here runs the student's code."""

    __slots__ = ("_ag_h", "_ag_attrs", "_ag_epoch", "_ag_names", "_ag_repr", "__weakref__")  # not a student's names

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        get = object.__getattribute__
        if get(self, "_ag_epoch") != _EPOCH[0]:
            _refresh([get(self, "_ag_h")])
        attrs = get(self, "_ag_attrs")
        if attr in attrs:
            return attrs[attr]
        found, value = lookup(get(self, "_ag_h"), [attr])
        if not found:
            raise AttributeError(attr)
        return value

    def __setattr__(self, attr, value):
        raise AttributeError(f"{type(self).__name__}.{attr}: the test reads the student's objects, it does not set them")

    def __repr__(self) -> str:
        return object.__getattribute__(self, "_ag_repr") or f"<{type(self).__name__} object>"


def _operator(name, *args):
    __tracebackhide__ = True
    return _call(Remote({"operator": name}, [], name), args, {})


def _binary(name):
    def forward(self, other):
        __tracebackhide__ = True
        return _operator(name, self, other)

    def reflected(self, other):
        __tracebackhide__ = True
        return _operator(name, other, self)
    return forward, reflected


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    _f, _r = _binary(_name)
    setattr(Snapshot, f"__{_name}__", _f)
    setattr(Snapshot, f"__r{_name}__", _r)
for _name in ("lt", "le", "gt", "ge"):
    setattr(Snapshot, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs"):
    setattr(Snapshot, f"__{_name}__", lambda self, _n=_name: _operator(_n, self))


def _class_named(name: str):
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (Snapshot,), {"__slots__": ()})
    return cls


def _snapshot(d: dict) -> Snapshot:
    h = d.get("h")
    if type(h) is not int:
        raise WireError("bad object")
    snap = _SNAPSHOTS.get(h)
    if snap is None:
        snap = object.__new__(_class_named("object"))
        for slot, value in (("_ag_h", h), ("_ag_attrs", {}), ("_ag_epoch", -1), ("_ag_names", ()), ("_ag_repr", "")):
            object.__setattr__(snap, slot, value)
        _SNAPSHOTS[h] = snap
    return snap


def _objects(table) -> list:
    """Apply a reply's descriptions of the student's objects to their snapshots (all of them
    first, so that attributes can name each other); the snapshots, which the caller keeps while it
    decodes the rest of the reply (the table of snapshots holds them weakly)."""
    if table is None:
        return []
    if type(table) is not dict:
        raise WireError("bad objects")
    described = []
    for key, d in table.items():
        if type(d) is not dict or not key.isdigit() or type(d.get("attrs")) is not dict:
            raise WireError("bad object")
        described.append((_snapshot({"h": int(key)}), d))
    for snap, d in described:
        names = d.get("names", [])
        if type(names) is not list or not all(type(n) is str for n in names):
            raise WireError("bad object")
        attrs = {_str_key(k): decode(v, tensor=lambda t: _rebuild(t, []), other=_other) for k, v in d["attrs"].items()}
        object.__setattr__(snap, "__class__", _class_named(str(d.get("type", "object"))[:80] or "object"))
        for slot, value in (("_ag_attrs", attrs), ("_ag_epoch", _EPOCH[0]), ("_ag_names", tuple(names[:16])),
                            ("_ag_repr", str(d.get("repr", ""))[:200])):
            object.__setattr__(snap, slot, value)
    return [snap for snap, _d in described]


def _str_key(key) -> str:
    if type(key) is not str:
        raise WireError("bad attribute")
    return key


def _refresh(handles: list) -> None:
    reply = _request({"op": "refresh", "h": handles})
    try:
        _objects(reply.get("objects"))
    except (WireError, RuntimeError, TypeError, ValueError, KeyError):
        raise StudentUnavailable() from None


# --- the test's torch modules and optimizers, mirrored in the student's kernel (inside/mirror.py) --

_MIRROR_IDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # module or optimizer -> id
_MIRRORED: "weakref.WeakValueDictionary[int, object]" = weakref.WeakValueDictionary()
_SENT: dict = {}   # id -> the module's structure when its copy was sent (an optimizer: True)
_mirror_ids = itertools.count(1)


def _mirror_id(value) -> int:
    mid = _MIRROR_IDS.get(value)
    if mid is None:
        mid = _MIRROR_IDS[value] = next(_mirror_ids)
        _MIRRORED[mid] = value
    return mid


def _mirror_specs(mids: list) -> list:
    """What the student's kernel needs of each mirror in this call: a copy the first time (or when
    the module's structure changed), then its state. ``mids`` gains the modules its optimizers
    update (whose state they change) and is put in the order states are applied: modules first."""
    owners = mirror.owners(_MIRRORED)

    def where(p) -> list:
        found = owners.get(id(p))
        if found is None:
            raise TypeError("an optimizer handed to the student's function must update parameters of a "
                            "torch.nn.Module that the test hands over too")
        return found

    for mid in list(mids):
        if isinstance(_MIRRORED[mid], torch.optim.Optimizer):
            for group in _MIRRORED[mid].param_groups:
                for p in group["params"]:
                    owner = where(p)[0]
                    if owner not in mids:
                        mids.append(owner)
    mids.sort(key=lambda m: isinstance(_MIRRORED[m], torch.optim.Optimizer))
    specs = []
    for mid in mids:
        value = _MIRRORED[mid]
        if isinstance(value, torch.nn.Module):
            spec = {"m": mid, "state": mirror.module_state(value)}
            shape = mirror.structure(value)
            if _SENT.get(mid) != shape:
                spec["pickle"] = mirror.module_bytes(value)
                _SENT[mid] = shape
        else:
            spec = {"m": mid, "state": mirror.optimizer_state(value, where)}
            if mid not in _SENT:
                spec.update(mirror.optimizer_spec(value, where))
                _SENT[mid] = True
        specs.append(spec)
    return specs


def _apply_mirrors(mids: list, states) -> None:
    """What the call did to the mirrors, done to the test's own modules and optimizers (``mids`` in
    :func:`_mirror_specs`'s order)."""
    if type(states) is not dict:
        return
    for mid in mids:
        state = states.get(str(mid))
        if state is None:
            continue
        value = _MIRRORED[mid]
        if isinstance(value, torch.nn.Module):
            mirror.apply_module_state(value, state)
        else:
            mirror.apply_optimizer_state(value, state, lambda mid, name: mirror.param_of(_MIRRORED, mid, name))


_HELD: "weakref.WeakValueDictionary[int, object]" = weakref.WeakValueDictionary()


class Held:
    """Another object of the student's kernel that a call returned (not data, not a notebook
    class's object): known by its handle; its attributes are read and its methods called there."""

    __slots__ = ("_ag_h", "_ag_type", "__weakref__")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        found, value = lookup(object.__getattribute__(self, "_ag_h"), [attr])
        if not found:
            raise AttributeError(attr)
        return value

    def __repr__(self) -> str:
        return f"<student's {object.__getattribute__(self, '_ag_type')} object>"


class RemoteHandle(torch.utils.hooks.RemovableHandle):
    """A hook handle the student's function returned (``register_hook``): ``remove()`` removes the
    hook in the student's kernel, where the hook is."""

    def __init__(self, h: int):  # noqa: D107 - not RemovableHandle's: the hooks are elsewhere
        self._ag_h = h

    def remove(self) -> None:
        __tracebackhide__ = True
        _call(Remote({"h": self._ag_h}, ["remove"], "remove"), (), {})

    def __repr__(self) -> str:
        return "<student's RemovableHandle>"


def _held(d: dict):
    h = d.get("h")
    if type(h) is not int:
        raise WireError("bad object")
    found = _HELD.get(h)
    if found is None:
        if d.get("type") == "torch.utils.hooks.RemovableHandle":
            found = RemoteHandle(h)
        else:
            found = object.__new__(Held)
            object.__setattr__(found, "_ag_h", h)
            object.__setattr__(found, "_ag_type", str(d.get("type", "object"))[:120])
        _HELD[h] = found
    return found


class _Args:
    """Encodes a call's arguments; the tensors among them, in order, are the call's inputs."""

    def __init__(self):
        self.tensors: list = []
        self.lists: list = []   # list arguments holding snapshots: what the call does to them is done here too
        self.mirrors: list = []  # ids of the modules and optimizers the call gets

    def encode(self, value, depth: int = 0):
        if isinstance(value, Remote):
            return {"t": "ref", **value._ref}
        if isinstance(value, Snapshot):
            return {"t": "obj", "h": object.__getattribute__(value, "_ag_h")}
        if isinstance(value, RemoteHandle):
            return {"t": "held", "h": value._ag_h}
        if isinstance(value, Held):
            return {"t": "held", "h": object.__getattribute__(value, "_ag_h")}
        if mirror.is_mirrored(value):
            # a submodule of a module mirrored already (model[0]) is a part of that mirror: one object there
            mid, path = (mirror.part_of(_MIRRORED, value) if value not in _MIRROR_IDS else None) or (None, "")
            if mid is None:
                mid = _mirror_id(value)
            if mid not in self.mirrors:
                self.mirrors.append(mid)
            return {"t": "mirror", "m": mid, "path": path}
        if callable(value) and hasattr(value, "__code__") and hasattr(value, "__globals__"):
            return encode_function(value, self.encode, depth)
        if type(value) in (torch.Tensor, torch.nn.Parameter):
            return self._tensor(value)
        if type(value) in (list, tuple, dict):
            items = value.items() if type(value) is dict else enumerate(value)
            if any(isinstance(v, Remote | Snapshot | Held | RemoteHandle) or mirror.is_mirrored(v) or callable(v) or
                   type(v) in (torch.Tensor, torch.nn.Parameter, list, tuple, dict) for _k, v in items):
                if type(value) is dict:
                    return {"t": "dict", "v": {str(k): self.encode(v, depth + 1) for k, v in value.items()}}
                encoded = [self.encode(v, depth + 1) for v in value]
                if type(value) is list and any(isinstance(v, Snapshot) for v in value):
                    self.lists.append(value)
                    return {"t": "mlist", "v": encoded}
                return encoded if type(value) is list else {"t": "tuple", "v": encoded}
        if isinstance(value, type(sys)):
            return {"t": "module", "v": value.__name__}
        return plain(value, depth)

    def _tensor(self, t):
        for i, known in enumerate(self.tensors):
            if known is t:
                return {"t": "argref", "i": i}
        self.tensors.append(t)
        d = tensor_data(t)
        grad = t.grad if t.is_leaf else None
        d.update(requires_grad=bool(t.requires_grad), leaf=bool(t.is_leaf), parameter=type(t) is torch.nn.Parameter,
                 grad=tensor_data(grad) if grad is not None else None)
        return d


def _rules() -> list:
    from gradcoach import rules
    return list(rules._ACTIVE)


def _call(remote: Remote, args, kwargs):
    __tracebackhide__ = True
    encoder = _Args()
    active = _rules()
    hooks = torch._C._autograd._top_saved_tensors_default_hooks(False)  # a test's saved_tensors_hooks
    payload = {"op": "call", "fn": remote._ref, "args": encoder.encode(list(args)),
               "kwargs": encoder.encode(dict(kwargs))}
    payload.update({"mirrors": _mirror_specs(encoder.mirrors),
                    "rules": [{"kind": "forbid" if r.kind == "forbid" else "count", "names": list(r.names),
                               "why": r.why} for r in active],
                    "grad_enabled": torch.is_grad_enabled(), "count_saved": hooks is not None})
    reply = _request(payload)
    _EPOCH[0] += 1  # the student's code ran: what it could change is read afresh
    saved = reply.get("saved")
    if hooks is not None and type(saved) is int:
        for _ in range(min(saved, 10_000)):  # what the student's graph saved for backward, as the test counts it
            hooks[0](torch.empty(0))
    inputs = encoder.tensors
    back = lambda d: _input(d, inputs) if d.get("t") == "input" else _other(d)  # noqa: E731
    try:
        described = _objects(reply.get("objects"))  # noqa: F841 - alive until the result holds what it needs
        _apply_lists(encoder.lists, reply.get("lists"), inputs, back)
        _apply_counts(active, reply.get("calls"))
        _apply_args(inputs, reply.get("args"))
        _apply_mirrors(encoder.mirrors, reply.get("mirrors"))
        if type(reply.get("grad_enabled")) is bool and reply["grad_enabled"] != torch.is_grad_enabled():
            torch.set_grad_enabled(reply["grad_enabled"])
    except (WireError, RuntimeError, TypeError, ValueError, KeyError, IndexError):
        raise StudentUnavailable() from None
    raised = reply.get("raised")
    if raised is not None:
        raise _rebuild_exception(raised, reply.get("forbidden"), active)
    try:
        return decode(reply.get("result"), tensor=lambda d: _rebuild(d, inputs), other=back)
    except (WireError, RuntimeError, TypeError, ValueError, KeyError, IndexError):
        return Opaque("unreadable")


def _input(d, inputs):
    if d.get("t") == "input" and type(d.get("i")) is int and 0 <= d["i"] < len(inputs):
        return inputs[d["i"]]
    raise WireError("bad result")


def _apply_lists(lists, changed, inputs, back) -> None:
    if type(changed) is not dict:
        return
    for key, items in changed.items():
        if key.isdigit() and int(key) < len(lists):
            new = decode(items, tensor=lambda d: _rebuild(d, inputs), other=back)
            if type(new) is list:
                lists[int(key)][:] = new


def _apply_counts(active, calls) -> None:
    if type(calls) is not dict:
        return
    for rule in active:
        for name in rule.names:
            count = calls.get(name, 0)
            if type(count) is int and count > 0:
                rule.calls[name] += count


def _apply_args(inputs, states) -> None:
    if type(states) is not list or len(states) != len(inputs):
        return
    for t, state in zip(inputs, states, strict=True):
        if type(state) is not dict:
            continue
        if state.get("value") is not None:
            new = make_tensor(state["value"])
            with torch.no_grad():
                if new.shape == t.shape and new.dtype == t.dtype:
                    t.copy_(new)
                else:
                    t.data = new
        if t.is_leaf and type(state.get("requires_grad")) is bool and state["requires_grad"] != t.requires_grad:
            t.requires_grad_(state["requires_grad"])
        if t.is_leaf:
            grad = state.get("grad")
            t.grad = make_tensor(grad) if grad is not None else None
        elif state.get("leaf_grad") is not None and t.requires_grad:
            # the student's backward() reached this argument: carry it on into the test's graph
            _backward(t, make_tensor(state["leaf_grad"]).reshape(t.shape).to(t.dtype))


def _rebuild_exception(raised, forbidden, active):
    from gradcoach import rules

    if type(raised) is not dict:
        return StudentUnavailable()
    message = str(raised.get("message", ""))[:4000]
    if forbidden is not None:
        for rule in active:
            if rule.kind == "forbid" and forbidden in rule.names:
                return rules._broken("rule_forbidden", rule.why or "", name=forbidden)
    if raised.get("not_implemented"):
        stub = NotImplementedError(message)
        where = raised.get("where")
        stub.gradcoach_where = where[:200] if type(where) is str else None  # gradcoach.answer names the stub's method
        return stub
    if raised.get("interrupt"):
        return KeyboardInterrupt()
    cls = getattr(builtins, str(raised.get("type", "")), None)
    if not raised.get("exception"):
        return SystemExit(message) if cls is SystemExit else KeyboardInterrupt()
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or cls is StopIteration:
        cls = RuntimeError
    try:
        rebuilt = cls(message)
    except TypeError:
        rebuilt = RuntimeError(message)
    rebuilt.gradcoach_grad_none_value = raised.get("grad_none_value") is True  # see gradcoach.explain
    return rebuilt


# --- results -------------------------------------------------------------------------------------

class _Bridge(torch.autograd.Function):
    """A student's result as a node of the test's graph: backward applies the student's Jacobian."""

    @staticmethod
    def forward(ctx, value, jacobians, *inputs):
        ctx.jacobians = jacobians
        ctx.shapes = [(x.shape, x.dtype) for x in inputs]
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        if ctx.jacobians is None:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved tensors "
                               "after they have already been freed).")
        out = [None, None]
        if grad is None:
            return (*out, *[None] * len(ctx.shapes))
        flat = grad.reshape(-1)
        for (shape, dtype), jac in zip(ctx.shapes, ctx.jacobians, strict=True):
            out.append(None if jac is None else (flat.to(jac.dtype) @ jac).reshape(shape).to(dtype))
        return tuple(out)


_NAMED: dict = {}


def _function_named(grad_fn: str):
    """A _Bridge subclass whose backward node is called like the student's (``MulBackward0``,
    ``LogSigmoidBackward``): gradcoach's messages and ``assert_grad_fn`` read that name."""
    cls = _NAMED.get(grad_fn)
    if cls is None:
        base = grad_fn[:-len("Backward")] if grad_fn.endswith("Backward") else grad_fn
        cls = type(base or "Bridge", (_Bridge,), {})
        cls._backward_cls.__name__ = cls._backward_cls.__qualname__ = grad_fn
        _NAMED[grad_fn] = cls
    return cls


def _rebuild(d: dict, inputs: list):
    value = make_tensor(d)
    grad = make_tensor(d["grad"]) if d.get("grad") is not None else None
    grad_fn = d.get("grad_fn")
    if grad_fn is not None and value.is_floating_point():
        if type(grad_fn) is not str:
            raise WireError("bad grad_fn")
        reached = [inputs[i] for i in d.get("reached", []) if type(i) is int and 0 <= i < len(inputs)
                   and inputs[i].requires_grad]
        jacobians = None
        if d.get("jac") is not None and len(d["jac"]) == len(reached):
            jacobians = [make_tensor(j) for j in d["jac"]]
            if any(j.shape != (value.numel(), x.numel()) for j, x in zip(jacobians, reached, strict=True)):
                jacobians = None
        if not reached:  # its graph starts at leaves of the student's own: a stand-in leaf
            reached = [torch.zeros((), dtype=value.dtype, requires_grad=True)]
            jacobians = None if jacobians is None else [torch.zeros(value.numel(), 1, dtype=value.dtype)]
        t = _function_named(grad_fn[:100]).apply(value, jacobians, *reached)
        if d.get("retains"):
            t.retain_grad()
        if grad is not None:
            t.grad = grad
        return t
    if d.get("requires_grad") and value.is_floating_point():
        if d.get("parameter"):
            value = torch.nn.Parameter(value)
        else:
            value.requires_grad_()
    if grad is not None:
        value.grad = grad
    return value
