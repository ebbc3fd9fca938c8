"""The data the checker takes from a student's kernel (autograde/inside/wire.py, checker.py),
without a kernel: what it decodes, what it refuses, and how a result joins the test's graph."""
from __future__ import annotations

import json
import sys

import pytest
import torch

from _autograde import ROOT

sys.path.insert(0, str(ROOT / "autograde" / "inside"))
import checker  # noqa: E402
import wire  # noqa: E402


def test_plain_values_and_tensors_round_trip_through_json():
    value = {"n": 3, "x": 2.5, "s": "forward", "inf": float("-inf"), "t": (1, [2.0, None]), "ok": True,
             "tensor": torch.tensor([[1.0, -2.0]], dtype=torch.float64), "half": torch.tensor([0.5], dtype=torch.bfloat16),
             "dtype": torch.float32, "size": torch.Size([2, 3]), "empty": torch.empty(0, 2)}
    back = wire.decode(json.loads(json.dumps(wire.plain(value))))
    assert back.keys() == value.keys()
    for key in ("n", "x", "s", "inf", "t", "ok", "dtype", "size"):
        assert back[key] == value[key] and type(back[key]) is type(value[key])
    for key in ("tensor", "half", "empty"):
        assert back[key].dtype == value[key].dtype and torch.equal(back[key], value[key])


@pytest.mark.parametrize("bad", [
    {"t": "tensor", "dtype": "object", "shape": [1], "data": ""},
    {"t": "tensor", "dtype": "float64", "shape": [2], "data": "AAAA"},
    {"t": "tensor", "dtype": "float64", "shape": [10 ** 12], "data": ""},
    {"t": "tensor", "dtype": "float64", "shape": "2", "data": ""},
    {"t": "function", "code": "", "name": "f", "globals": {}, "closure": [], "defaults": []},
    {"t": "module", "v": "os"},
    {"t": "float", "v": "__import__('os')"},
    {"t": "ndarray", "dtype": "object", "shape": [1], "data": ""},
])
def test_student_data_that_is_not_plain_is_refused(bad):
    """Nothing the student's side sends is run, imported or built into a function."""
    with pytest.raises(wire.WireError):
        wire.decode(bad)


def test_unknown_objects_stay_opaque_and_fail_every_check():
    class Always(float):
        def __eq__(self, other):
            return True

    opaque = wire.decode(wire.plain(Always(1.0)))
    assert isinstance(opaque, wire.Opaque) and opaque.type_name == "Always"
    import gradcoach as gc
    with pytest.raises(AssertionError):
        gc.assert_close(opaque, 1.0)


def test_deep_nesting_is_refused_on_both_sides():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.plain(deep)
    with pytest.raises(wire.WireError):
        wire.decode(json.loads("[" * 100 + "]" * 100))


def _facts(value, grad_fn, reached, jacobians, **extra):
    d = wire.tensor_data(value)
    d.update(grad_fn=grad_fn, reached=reached, jac=[wire.tensor_data(j) for j in jacobians] if jacobians else None,
             requires_grad=True, leaf=False, retains=False, **extra)
    return d


def test_a_result_joins_the_tests_graph_through_the_students_jacobian():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    q = checker._rebuild(_facts(torch.tensor(5.0, dtype=torch.float64), "DotBackward0", [0],
                                [torch.tensor([[2.0, 4.0]], dtype=torch.float64)]), [x])
    assert type(q.grad_fn).__name__ == "DotBackward0" and not q.is_leaf and q.requires_grad
    (3 * q).backward()
    assert torch.equal(x.grad, torch.tensor([6.0, 12.0], dtype=torch.float64))


def test_a_custom_function_keeps_its_name_for_assert_grad_fn():
    import gradcoach as gc

    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    y = checker._rebuild(_facts(torch.tensor([-0.47], dtype=torch.float64), "LogSigmoidBackward", [0],
                                [torch.tensor([[0.38]], dtype=torch.float64)]), [x])

    class LogSigmoid(torch.autograd.Function):
        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

    gc.assert_grad_fn(y, LogSigmoid, name="y")


def test_the_stand_in_for_a_students_function_class_carries_how_it_is_written():
    import bridge

    import gradcoach as gc

    class Modern(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return 2 * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

    class Legacy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

    for cls, form in ((Modern, "setup_context"), (Legacy, "ctx_in_forward")):
        ref = bridge._describe(cls, {"name": cls.__name__, "attrs": []}, bridge._Objects(None))
        assert ref["form"] == form
        assert gc.structure.function_form(checker._ref(json.loads(json.dumps(ref)))) == form
    assert "form" not in bridge._describe(len, {"name": "len", "attrs": []}, bridge._Objects(None))
    assert gc.structure.function_form(checker._ref({"t": "ref", "name": "f", "form": "anything else"})) is None


def test_a_graph_the_student_already_freed_cannot_be_run_again():
    x = torch.tensor(1.0, requires_grad=True)
    loss = checker._rebuild(_facts(torch.tensor(2.0), "MulBackward0", [0], None), [x])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_a_leaf_result_carries_its_grad():
    d = wire.tensor_data(torch.tensor(2.0, dtype=torch.float64))
    d.update(grad_fn=None, requires_grad=True, leaf=True, grad=wire.tensor_data(torch.tensor(12.0, dtype=torch.float64)))
    x = checker._rebuild(d, [])
    assert x.is_leaf and x.requires_grad and float(x.grad) == 12.0


def test_what_the_call_did_to_the_arguments_is_applied_to_the_tests_tensors():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    v = torch.tensor([3.0])
    checker._apply_args([w, v], [{"requires_grad": True, "value": None, "grad": wire.tensor_data(torch.tensor([0.5, 0.5]))},
                                 {"requires_grad": False, "value": wire.tensor_data(torch.tensor([9.0])), "grad": None}])
    assert torch.equal(w.grad, torch.tensor([0.5, 0.5])) and torch.equal(v, torch.tensor([9.0]))


def _student_graph():
    """A Value graph as lesson 07 builds it, from a class defined in "the notebook"."""
    Value = type("Value", (), {"__module__": "__main__", "__repr__": lambda self: f"Value(data={self.data})"})

    def make(data, prev=(), op=""):
        v = Value()
        v.data, v.grad, v._prev, v._op, v._backward = float(data), 0.0, tuple(prev), op, lambda: None
        return v
    a, b = make(2.0), make(-3.0)
    e = make(-6.0, (a, b), "*")
    return Value, a, b, make(-12.0, (e, e), "+")   # e used twice: one node, two edges


def _describe_in_student_kernel(monkeypatch, Value, *values):
    import bridge

    monkeypatch.setattr(bridge, "_OBJECTS", {})
    monkeypatch.setattr(bridge, "_HANDLES", {})
    monkeypatch.setitem(bridge._S, "shell", type("Shell", (), {"user_ns": {"Value": Value}})())
    objects = bridge._Objects(wire.tensor_data)
    encoded = [wire.plain(v, other=objects.ref) for v in values]
    return json.loads(json.dumps({"values": encoded, "objects": objects.finish()}))


def test_a_students_graph_arrives_as_snapshots_that_keep_identity(monkeypatch):
    """Lesson 07's tests walk the student's Value graph in the checker: every node once, its
    attributes as data, the same node the same snapshot, isinstance by the notebook's class name."""
    Value, a, b, root = _student_graph()
    reply = _describe_in_student_kernel(monkeypatch, Value, root, a)
    assert len(reply["objects"]) == 4 and all("_backward" not in d["attrs"] for d in reply["objects"].values())
    kept = checker._objects(reply["objects"])
    got_root, got_a = (wire.decode(v, other=checker._other) for v in reply["values"])
    e1, e2 = got_root._prev
    assert e1 is e2 and got_a in e1._prev and type(got_root).__name__ == "Value" and len(kept) == 4
    assert (got_root.data, got_root._op, got_a.grad, repr(got_a)) == (-12.0, "+", 0.0, "Value(data=2.0)")
    assert isinstance(got_root, checker.Remote({"name": "Value"}, [], "Value"))
    assert not isinstance(got_root, checker.Remote({"name": "Other"}, [], "Other"))
    with pytest.raises(AttributeError):
        got_root.data = 5.0   # the test reads the student's objects; it cannot write them


def test_a_deep_graph_goes_as_a_flat_table(monkeypatch):
    """Deeper than the recursion limit (lesson 07's deep chain): described breadth first, not recursively."""
    Value, a, _b, _root = _student_graph()
    v = a
    for _ in range(2 * sys.getrecursionlimit()):
        w = Value()
        w.data, w.grad, w._prev, w._op = v.data, 0.0, (v,), "tanh"
        v = w
    reply = _describe_in_student_kernel(monkeypatch, Value, v)
    assert len(reply["objects"]) == 2 * sys.getrecursionlimit() + 1
    kept = checker._objects(reply["objects"])  # noqa: F841 - the snapshots are held weakly
    node, depth = wire.decode(reply["values"][0], other=checker._other), 0
    while node._prev:
        (node,), depth = node._prev, depth + 1
    assert depth == 2 * sys.getrecursionlimit()


@pytest.mark.parametrize("table", [
    [1, 2], {"x": {"attrs": {}}}, {"1": {"attrs": []}}, {"1": {"attrs": {"f": {"t": "function", "code": ""}}}},
    {"1": {"attrs": {}, "names": "Value"}},
])
def test_a_malformed_object_table_is_refused(table):
    with pytest.raises(wire.WireError):
        checker._objects(table)


# --- lesson 08: the test's modules and optimizers, mirrored in the student's kernel --------------

@pytest.fixture
def mirrors(monkeypatch):
    """Both sides' tables of mirrors, fresh; ``cross(mids)`` sends the checker's specs through
    JSON to the student's side and returns what that side keeps."""
    import bridge

    for module, name, value in ((checker, "_MIRROR_IDS", checker.weakref.WeakKeyDictionary()),
                                (checker, "_MIRRORED", checker.weakref.WeakValueDictionary()),
                                (checker, "_SENT", {}), (bridge, "_MIRRORS", {}), (bridge, "_MIRROR_OF", {})):
        monkeypatch.setattr(module, name, value)
    return bridge


def _round_trip(bridge, values, student):
    """One call: the checker encodes ``values``, the student's side gets its mirrors, runs
    ``student(*mirrors)``, and the checker applies what comes back."""
    encoder = checker._Args()
    encoded = encoder.encode(list(values))
    specs = json.loads(json.dumps(checker._mirror_specs(encoder.mirrors)))
    mids = bridge._load_mirrors(specs)
    student(*[bridge._MIRRORS[d["m"]] for d in encoded])
    states = json.loads(json.dumps({str(m): bridge._mirror_state(bridge._MIRRORS[m]) for m in mids}))
    checker._apply_mirrors(encoder.mirrors, states)
    return specs


def test_a_module_and_its_optimizer_cross_as_mirrors_and_the_call_comes_back_in_place(mirrors):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    seen = []
    model[0].register_forward_hook(lambda *_: seen.append(1))   # the test's own hook: not sent
    weight, x = model[0].weight, torch.randn(4, 3, dtype=torch.float64)
    expected = [p.detach().clone() for p in model.parameters()]
    reference = torch.optim.SGD([torch.nn.Parameter(e) for e in expected], lr=0.1, momentum=0.9)
    model.zero_grad()
    grads = torch.autograd.grad(model(x).pow(2).sum(), list(model.parameters()))
    seen.clear()

    def train_step(m, opt):
        assert not m[0]._forward_hooks, "the test's hook stays in the checker"
        m[0].weight.register_hook(lambda g: 2 * g)   # the student's hook stays on the mirror
        opt.zero_grad()
        m(x).pow(2).sum().backward()
        opt.step()

    specs = _round_trip(mirrors, (model, optimizer), train_step)
    assert [("pickle" in s, "optim" in s) for s in specs] == [(True, False), (False, True)]
    for p, g in zip(reference.param_groups[0]["params"], grads, strict=True):
        p.grad = g.clone()
    reference.param_groups[0]["params"][0].grad *= 2
    reference.step()
    assert model[0].weight is weight and seen == [] and len(model[0]._forward_hooks) == 1
    for p, want in zip(model.parameters(), reference.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(p.detach(), want.detach())
    assert torch.equal(model[0].weight.grad, 2 * grads[0])
    assert torch.equal(optimizer.state[model[0].weight]["momentum_buffer"],
                       reference.state[reference.param_groups[0]["params"][0]]["momentum_buffer"])

    model.zero_grad()      # the test's next step, then a second call: the same mirror, the student's hook on it
    model.eval()
    specs = _round_trip(mirrors, (model,), lambda m: (m(x).sum().backward(), m.train()))
    assert "pickle" not in specs[0] and model.training
    plain_grad = torch.autograd.grad(model(x).sum(), model[0].weight)[0]   # the checker's model has no hook
    assert torch.equal(model[0].weight.grad, 2 * plain_grad)


def test_a_submodule_handed_over_after_its_module_is_part_of_the_same_mirror(mirrors):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    _round_trip(mirrors, (model,), lambda m: None)
    encoder = checker._Args()
    assert encoder.encode(model[0]) == {"t": "mirror", "m": checker._MIRROR_IDS[model], "path": "0"}
    assert checker._other({"t": "mirror", "m": checker._MIRROR_IDS[model], "path": "0"}) is model[0]


@pytest.mark.parametrize("state", [
    None, {"params": "w", "buffers": [], "training": []},
    {"params": [["0.weight", 1]], "buffers": [], "training": []},
    {"params": [["0.weight", {"t": "tensor", "dtype": "float32", "shape": [2, 2], "data": ""}, True, None]],
     "buffers": [], "training": []},
    {"params": [["0.weight", wire.tensor_data(torch.zeros(2, 2)), True, wire.tensor_data(torch.zeros(5))]],
     "buffers": [], "training": []},
])
def test_a_modules_state_from_the_student_is_validated(state):
    import mirror

    with pytest.raises(wire.WireError):
        mirror.apply_module_state(torch.nn.Sequential(torch.nn.Linear(2, 2)), state)


def test_what_a_state_may_change_is_what_a_call_could_change():
    import mirror

    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = mirror.module_state(model)
    state["params"].append(["1.weight", wire.tensor_data(torch.zeros(1)), True, None])  # no such parameter
    mirror.apply_module_state(model, json.loads(json.dumps(state)))
    hyper = {"t": "dict", "v": {"lr": "__import__('os')", "momentum": 0.5, "new_key": 1.0}}
    mirror.apply_optimizer_state(optimizer, {"hyper": [hyper], "state": []}, lambda *_: None)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["momentum"] == 0.5
    assert "new_key" not in optimizer.param_groups[0]


def test_only_torch_optimizers_are_mirrored(mirrors):
    class Mine(torch.optim.SGD):
        pass

    model = torch.nn.Linear(2, 1)
    optimizer = Mine(model.parameters(), lr=0.1)
    encoder = checker._Args()
    encoder.encode([model, optimizer])
    with pytest.raises(TypeError, match="torch.optim"):
        checker._mirror_specs(encoder.mirrors)


def test_a_hook_handle_a_student_returns_removes_the_hook_in_the_students_kernel(monkeypatch):
    import bridge

    monkeypatch.setattr(bridge, "_OBJECTS", {})
    monkeypatch.setattr(bridge, "_HANDLES", {})
    p = torch.zeros(2, requires_grad=True)
    handle = p.register_hook(lambda g: g)
    encoded = json.loads(json.dumps(wire.plain([handle], other=bridge._Objects(wire.tensor_data).ref)))
    got = wire.decode(encoded, other=checker._other)[0]
    assert isinstance(got, torch.utils.hooks.RemovableHandle) and type(got) is checker.RemoteHandle
    calls = []
    monkeypatch.setattr(checker, "_call", lambda remote, args, kwargs: calls.append(remote._ref))
    got.remove()
    assert calls == [{"h": encoded[0]["h"], "attrs": ["remove"]}]
    assert bridge._OBJECTS[encoded[0]["h"]] is handle
