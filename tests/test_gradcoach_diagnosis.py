"""One test per diagnosis gradcoach gives when a gradient is wrong or missing."""
import pytest
import torch

import gradcoach as gc

cube = lambda x: (x ** 3).sum()
dcube = lambda x: 3 * x ** 2


def leaf(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def codes(report):
    assert not report.passed, str(report)
    return report.codes


def test_a_formula_of_several_inputs_says_which_partial_is_wrong():
    gc.set_language("en")
    g = lambda x, y: x ** 2 * torch.exp(y) + y
    report = gc.check_formula(g, lambda x, y: (2 * x * torch.exp(y), x * torch.exp(y) + 1), (1.5, 0.5))
    assert codes(report) == ["formula_parts_wrong", "formula_wrong"]
    assert "wrong among them: ∂f/∂y. The explanation below is about ∂f/∂y." in report.messages[0]
    both = gc.check_formula(g, lambda x, y: (x * torch.exp(y), x * torch.exp(y) + 1), (1.5, 0.5))
    assert "wrong among them: ∂f/∂x, ∂f/∂y. The explanation below is about ∂f/∂x." in both.messages[0]


def test_the_partials_take_the_name_of_a_named_function():
    gc.set_language("en")

    def g(x, y):
        return x ** 2 * torch.exp(y) + y

    report = gc.check_formula(g, lambda x, y: (2 * x * torch.exp(y), x * torch.exp(y)), (1.5, 0.5))
    assert "wrong among them: ∂g/∂y. The explanation below is about ∂g/∂y." in report.messages[0]


def test_grad_none_on_a_returned_non_leaf_names_the_function_not_the_test():
    def as_float_leaf(values):
        return leaf(values) * 1.0
    gc.set_language("en")
    x = gc.answer(as_float_leaf, [1.0, 2.0])
    (x ** 3).sum().backward()
    report = gc.check(x, cube, dcube)
    assert codes(report) == ["grad_none_returned_non_leaf"]
    assert "`as_float_leaf` returned" in report.messages[0] and "inside `as_float_leaf`" in report.messages[0]


def test_grad_none_because_backward_was_never_called():
    x = leaf(2.0)
    assert codes(gc.check(x, cube, dcube)) == ["grad_none_no_backward"]


def test_grad_none_because_requires_grad_is_false():
    x = torch.tensor(2.0)
    report = gc.check(x, cube, dcube)
    assert codes(report) == ["grad_none_requires_grad"]
    assert "requires_grad=True" in report.messages[0]


def test_grad_none_on_a_non_leaf_suggests_retain_grad():
    x = leaf(2.0)
    y = x * 3
    (y ** 2).backward()
    report = gc.check(y, lambda y: y ** 2, lambda y: 2 * y)
    assert codes(report) == ["grad_none_non_leaf"]
    assert "retain_grad()" in report.messages[0] and "MulBackward0" in report.messages[0]


@pytest.mark.parametrize("cut, culprit", [
    (lambda x: torch.tensor(x.item()) ** 2, ".item()"),
    (lambda x: x.detach() ** 2, ".detach()"),
    (lambda x: torch.from_numpy(x.detach().numpy()) ** 2, ".detach()"),
    (lambda x: x.data ** 2, ".data"),
])
def test_grad_none_because_the_graph_was_cut_names_the_culprit(cut, culprit):
    x = leaf(2.0)
    out = cut(x)
    assert not out.requires_grad
    report = gc.check(x, cut, lambda x: 2 * x)
    assert codes(report) == ["grad_none_graph_cut"]
    assert culprit in report.messages[0]


def test_grad_none_cut_inside_the_students_answer_function_is_found():
    def student(x0):
        x = torch.tensor(x0, requires_grad=True)
        with torch.no_grad():
            y = x ** 2
        try:
            y.backward()
        except RuntimeError:
            pass
        return x

    x = gc.answer(student, 2.0)
    report = gc.check(x, lambda x: x ** 2, lambda x: 2 * x)
    assert codes(report) == ["grad_none_graph_cut"]
    assert "torch.no_grad()" in report.messages[0]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_gradient_accumulated_k_times(k):
    x = leaf([1.0, 2.0, -0.5])
    for _ in range(k):
        cube(x).backward()
    report = gc.check(x, cube, dcube)
    assert codes(report) == ["accumulated_likely"]
    assert f"{k}" in report.messages[0] and "x.grad = None" in report.messages[0]


def test_sign_flipped():
    x = leaf([1.0, 2.0, -0.5])
    (-cube(x)).backward()
    assert codes(gc.check(x, cube, dcube)) == ["sign_flipped"]


def test_off_by_a_constant_factor():
    x = leaf([1.0, 2.0, -0.5])
    (0.5 * cube(x)).backward()
    report = gc.check(x, cube, dcube)
    assert codes(report) == ["constant_factor"]
    assert "1/2" in report.messages[0]


def test_wrong_shape_from_a_whole_jacobian():
    x = leaf([1.0, 2.0, 3.0])
    f = lambda x: x ** 2
    v = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(f, x.detach())
    report = gc.check(x, f, lambda x: 2 * x * v, v=v, got=jac)
    assert codes(report) == ["wrong_shape"]
    assert "vᵀJ" in report.messages[0]


def test_wrong_shape_from_a_reduced_gradient():
    x = leaf([1.0, 2.0, 3.0])
    report = gc.check(x, cube, dcube, got=torch.tensor(42.0, dtype=torch.float64))
    assert codes(report) == ["wrong_shape"]


def test_wrong_v_when_the_student_summed_instead():
    x = leaf([1.0, 2.0, 3.0])
    f = lambda x: x ** 2
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float64)
    f(x).sum().backward()
    report = gc.check(x, f, lambda x: 2 * x * v, v=v)
    assert codes(report) == ["wrong_v"]
    assert ".sum()" in report.messages[0]


def test_vector_output_without_v_asks_for_it():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    assert codes(gc.check(x, lambda x: x ** 2, lambda x: 2 * x)) == ["output_not_scalar"]


def test_analytic_formula_wrong_when_autograd_and_finite_differences_agree():
    x = leaf([0.5, 1.5])
    f = lambda x: torch.sin(x).sum()
    f(x).backward()
    report = gc.check(x, f, lambda x: -torch.sin(x))  # should be cos
    assert codes(report) == ["formula_wrong"]
    assert "x[" in report.messages[0]


def test_code_computes_a_different_function():
    x = leaf([0.5, 1.5])
    (x ** 3).sum().backward()  # the student differentiated x³ ...
    f = lambda x: (x ** 2 + x).sum()  # ... but the exercise is x² + x
    report = gc.check(x, f, lambda x: 2 * x + 1)
    # autograd on f is right, so x.grad came from elsewhere: causes listed, the likeliest first
    assert codes(report) == ["grad_not_from_f"]
    assert report.messages[0].index("different function") < report.messages[0].index("changed in place")
    # .grad was written by one backward() (its version counter never moved): no earlier gradient in it
    assert "earlier backward()" not in report.messages[0]


def test_an_earlier_gradient_is_still_listed_when_grad_was_added_to():
    x = leaf([0.5, 1.5])
    (x ** 3).sum().backward()
    (x * 0).sum().backward()  # a second pass: .grad was added to, so pollution stays a cause
    report = gc.check(x, lambda x: (x ** 2 + x).sum(), lambda x: 2 * x + 1)
    assert codes(report) == ["grad_not_from_f"]
    assert "earlier backward()" in report.messages[0]


def test_float32_near_miss_is_named_only_for_a_float32_gradient():
    x = leaf([1.0, 2.0], dtype=torch.float32)
    report = gc.check(x, cube, dcube, got=(dcube(x.detach()) * (1 + 3e-4)).float())
    assert codes(report) == ["float32_near"]
    assert "float64" in report.messages[0]


def test_a_float64_near_miss_never_gets_the_float32_hint():
    x = leaf([1.0, 2.0])  # an off-by-one loop in float64: 0.7 % off
    report = gc.check(x, cube, dcube, got=dcube(x.detach()) * 1.007)
    assert "float32_near" not in codes(report)
    assert "float32" not in " ".join(report.messages)


def test_nan_gradient_outside_the_domain():
    x = leaf(0.0)
    torch.sqrt(x).backward()
    report = gc.check(x, torch.sqrt, lambda x: 0.5 / torch.sqrt(x))
    assert codes(report)[0] == "nan_got"


def test_nan_in_the_analytic_answer_itself():
    x = leaf(1.0)
    f = lambda x: x ** 2
    f(x).backward()
    report = gc.check(x, f, lambda x: torch.log(x - 2))
    assert codes(report) == ["nan_expected"]


def test_generic_mismatch_points_at_the_worst_element():
    x = leaf([1.0, 2.0, 3.0])
    grad = dcube(x.detach()).clone()
    grad[2] = 0.0
    report = gc.check(x, cube, dcube, got=grad)
    assert not report.passed
    assert "x[2]" in report.messages[-1]


def test_second_derivative_diagnosis_accumulated():
    f = lambda x, w: (x + 5 * w) ** 2
    x, w = leaf(2.0), leaf(3.0)
    for _ in range(2):
        (fx,) = torch.autograd.grad(f(x, w), x, create_graph=True)
        fx.backward()
    # scalars whose .grad went through create_graph: nothing proves a second pass, both causes are named
    report = gc.check_second((x, w), f, (2.0, 10.0), first=x)
    assert codes(report) == ["integer_factor_unknown"] and "2 times" in report.messages[0]


def test_formula_check_sign_and_factor():
    f = lambda x: (x ** 3).sum()
    at = torch.tensor([1.0, 2.0, 3.0])
    assert codes(gc.check_formula(f, lambda x: -3 * x ** 2, at=at)) == ["formula_sign_flipped"]
    assert codes(gc.check_formula(f, lambda x: x ** 2, at=at)) == ["formula_constant_factor"]
    assert gc.check_formula(f, lambda x: 3 * x ** 2, at=at).passed


def test_passing_check_at_a_kink_notes_the_finite_difference_disagreement():
    x = leaf(0.0)
    torch.relu(x).backward()  # autograd takes 0 at the kink; the central difference gives 1/2
    report = gc.check(x, torch.relu, 0.0)
    assert report.passed
    assert report.notes and "0.5" in report.notes[0]


def test_an_integer_factor_in_a_gradient_passed_explicitly_is_a_constant_factor_not_accumulation():
    x = leaf([1.0, 2.0, -0.5])
    report = gc.check(x, cube, dcube, got=2 * dcube(x.detach()))
    assert codes(report) == ["constant_factor"]


def test_infinite_values_in_a_wrong_answer_are_reported_without_warnings():
    import warnings

    x = leaf([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = gc.check(x, cube, dcube, got=torch.tensor([float("inf"), 1.0], dtype=torch.float64))
    assert codes(report)[0] == "nan_got"


def test_grad_from_elsewhere_without_an_analytic_answer_claims_only_finite_differences():
    z = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    v = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    report = gc.check_second(z, lambda z: torch.logsumexp(z, 0), v=v, got=torch.softmax(z, 0) * v)
    assert codes(report) == ["grad_not_from_f_fd"]
    assert "analytic answer and" not in report.messages[0]


def test_a_gradient_handed_in_with_got_is_labelled_yours_not_autograd():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    table = str(gc.check(x, cube, dcube, got=3 * x)).splitlines()
    header = next(line for line in table if line.startswith("input"))
    assert "yours" in header and "autograd" not in header
