"""gradcoach.rules: forbidden and required functions, formula-only evaluation, dtype/type/shape
strictness and the side-effect snapshot, each with its localized message."""
import pytest
import torch

import gradcoach as gc


@pytest.fixture(autouse=True)
def english():
    gc.set_language("en")
    yield
    gc.set_language("en")


def test_forbid_raises_naming_the_function_and_restores_it_afterwards():
    original = torch.func.jacrev
    with pytest.raises(gc.RuleBroken, match="torch.func.jacrev"):
        with gc.forbid("torch.func.jacrev"):
            torch.func.jacrev(torch.sin)(torch.ones(2))
    assert torch.func.jacrev is original
    torch.func.jacrev(torch.sin)(torch.ones(2))  # usable again


def test_forbid_backward_catches_tensor_backward():
    x = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(gc.RuleBroken, match="torch.autograd.backward"):
        with gc.forbid("backward"):
            (x * 2).backward()


def test_forbid_gradcoach_finite_difference():
    with pytest.raises(gc.RuleBroken, match="finite_difference"):
        with gc.forbid("gradcoach.finite_difference"):
            gc.finite_difference(torch.sin, torch.tensor(1.0, dtype=torch.float64))


def test_require_counts_one_backward_pass_once():
    x = torch.tensor(1.0, requires_grad=True)
    with gc.require("backward") as calls:
        (x * 2).backward()
    assert calls.total() == 1


def test_require_fails_when_the_function_was_never_called():
    with pytest.raises(gc.RuleBroken, match="never called backward"):
        with gc.require("backward"):
            pass


def test_count_calls_counts_jacobian_internals():
    with gc.count_calls("torch.autograd.functional.jacobian") as calls:
        torch.autograd.functional.jacobian(torch.sin, torch.ones(3))
    assert calls["torch.autograd.functional.jacobian"] == 1


def test_formula_only_runs_without_grad_and_forbids_autograd():
    seen = []

    def formula(x):
        seen.append(torch.is_grad_enabled())
        return 2 * x
    gc.formula_only(formula)(torch.tensor(1.0, requires_grad=True))
    assert seen == [False]

    def autograd_answer(x):
        x = x.clone().requires_grad_()
        return torch.autograd.grad(x ** 2, x)[0]
    with pytest.raises(gc.RuleBroken, match="torch.autograd.grad"):
        gc.formula_only(autograd_answer)(torch.tensor(1.0))


def test_formula_only_reports_a_stub_as_not_answered():
    def stub(x):
        raise NotImplementedError()
    with pytest.raises(gc.NotAnswered):
        gc.formula_only(stub)(torch.tensor(1.0))


def test_call_reports_a_broken_rule_as_itself():
    def uses_jacrev(x):
        return torch.func.jacrev(torch.sin)(x)
    with pytest.raises(gc.RuleBroken, match="does not allow"):
        gc.call(uses_jacrev, torch.ones(2), forbid_names=("torch.func",))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_assert_dtype_rejects_low_precision_where_float64_is_asked(dtype):
    with pytest.raises(gc.RuleBroken, match="asks for float64"):
        gc.assert_dtype(torch.ones(2, dtype=dtype), torch.float64, name="x")
    gc.assert_dtype(torch.ones(2, dtype=torch.float64), torch.float64, name="x")


def test_assert_type_tells_tensor_from_number():
    with pytest.raises(gc.RuleBroken, match="should be a torch tensor, but it is of type float"):
        gc.assert_type(0.75, "tensor", name="x1")
    with pytest.raises(gc.RuleBroken, match="plain Python number"):
        gc.assert_type(torch.tensor(0.75), "number", name="x1")
    with pytest.raises(gc.RuleBroken, match="plain Python number"):
        gc.assert_type(True, "number", name="x1")


def test_assert_shape_is_exact():
    with pytest.raises(gc.RuleBroken, match=r"shape \(6,\)"):
        gc.assert_shape(torch.ones(6), (2, 3), name="J")


def test_snapshot_reports_each_kind_of_side_effect():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = torch.tensor([1.0, 0.0])
    before = gc.snapshot(x=x, v=v)
    before.assert_unchanged()
    (x * v).sum().backward()
    v.requires_grad_()
    with torch.no_grad():
        v += 1
    torch.set_grad_enabled(False)
    try:
        problems = before.problems()
    finally:
        torch.set_grad_enabled(True)
    text = "\n".join(problems)
    assert "`x.grad` changed" in text
    assert "values of `v` changed" in text
    assert "`v.requires_grad` was False" in text
    assert "grad mode" in text
    with pytest.raises(gc.RuleBroken, match="only supposed to read"):
        before.assert_unchanged()


@pytest.mark.parametrize("lang,word", [("ja", "データ型"), ("ko", "자료형")])
def test_rule_messages_are_localized(lang, word):
    gc.set_language(lang)
    with pytest.raises(gc.RuleBroken, match=word):
        gc.assert_dtype(torch.ones(1), torch.float64, name="x")


def test_call_reinstalls_an_enclosing_rule_that_something_undid():
    """The grader's guard puts pristine torch attributes back before each gradcoach call in a test
    cell; `gc.call` installs the enclosing rule's watchers again right before the answer runs."""
    import torch.autograd as autograd
    pristine = autograd.backward

    def answer():
        x = torch.tensor(1.0, requires_grad=True)
        (x * 2).backward()
        return x
    with gc.require("backward") as calls:
        autograd.backward = pristine          # what the guard's restore does
        gc.call(answer)
    assert calls.total() == 1
    assert autograd.backward is pristine


def _notebook(source: str) -> dict:
    """A notebook's namespace after ``source`` ran in it (the cell that imports, then the answer)."""
    ns = {"__name__": "__main__", "torch": torch}
    exec(compile(source, "<notebook>", "exec"), ns)
    return ns


def test_require_counts_a_function_imported_before_the_test_under_a_name_of_its_own():
    ns = _notebook("from torch.autograd import grad as g\n"
                   "def slope(x0):\n"
                   "    x = torch.tensor(x0, requires_grad=True)\n"
                   "    return g(x ** 2, x)[0]\n")
    with gc.require("grad") as calls:
        assert float(gc.answer(ns["slope"], 3.0)) == 6.0
    assert calls["torch.autograd.grad"] == 1
    assert ns["g"] is torch.autograd.grad          # the notebook's name is given back


def test_forbid_refuses_a_function_imported_before_the_test():
    ns = _notebook("from torch.func import jacfwd\n"
                   "def jac(f, x0):\n"
                   "    return jacfwd(f)(x0)\n")
    with pytest.raises(gc.RuleBroken, match="torch.func.jacfwd"):
        gc.call(ns["jac"], torch.sin, torch.ones(2), forbid_names=("torch.func.jacfwd",))
    assert ns["jacfwd"] is torch.func.jacfwd
    assert torch.func.jacfwd(torch.sin)(torch.zeros(1)).item() == 1.0


def test_a_name_the_student_rebinds_during_the_rule_is_left_as_they_left_it():
    ns = _notebook("from torch.autograd import grad\n"
                   "def rebind():\n"
                   "    global grad\n"
                   "    grad = 'mine'\n"
                   "    return torch.ones(1)\n")
    with gc.count_calls("grad"):
        gc.answer(ns["rebind"])
    assert ns["grad"] == "mine"


def test_an_answer_that_switches_recording_off_is_reported_and_recording_comes_back_on():
    """Left off, every later cell would fail with 'element 0 of tensors does not require grad'."""
    before = gc.snapshot()
    torch.set_grad_enabled(False)
    try:
        with pytest.raises(gc.RuleBroken, match="switched it back"):
            before.assert_unchanged()
        assert torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
