"""The mistake suite: beginners' slips, typed as a student would, and what gradcoach must say.

Each case runs a student's code and returns the report (or the explanation) gradcoach gives. It is
judged by ``verdict``:

- **right**: one of the case's ``want`` codes was given;
- **hedged**: only honest, unspecific codes (``HEDGES``: "does not match", both causes named, the
  causes listed) and none of the case's ``never`` codes;
- **wrong**: the mistake passed, or a cause was claimed that is not the case's.

tests/test_diagnosis_suite.py requires every case to be right (or hedged where the case says a
hedge is the honest answer); `make bench` counts the verdicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

import gradcoach as gc
from gradcoach.explain import explain_key
from gradcoach.i18n import t

F64 = torch.float64
HEDGES = {"mismatch", "mismatch_hidden", "projection_mismatch", "integer_factor_unknown", "grad_not_from_f", "second_not_from_f",
          "grad_not_from_f_fd",
          "code_differs", "code_differs_hidden", "code_differs_directional", "formula_wrong", "formula_wrong_hidden",
          "formula_wrong_directional", "value_mismatch",
          "value_mismatch_hidden"}


@dataclass
class Case:
    name: str
    lesson: str
    run: object  # () -> Report | str (an explanation) | None
    want: set
    never: set = field(default_factory=set)
    hedge_ok: bool = False  # the honest answer is a hedge: nothing more can be known


def leaf(values, dtype=F64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def explained(code):
    """The catalogue key of gradcoach's explanation of the error ``code`` raises."""
    try:
        code()
    except Exception as exc:  # noqa: BLE001 - the student's error is the subject
        found = explain_key(exc)
        return found[0] if found and gc.explain(exc) == t(found[0], **found[1]) else None
    return None


def verdict(case: Case, result) -> str:
    if isinstance(result, str) or result is None:
        codes = [result] if result else []
    else:
        if result.passed:
            return "wrong"
        codes = list(result.codes)
    if set(codes) & case.want:
        return "right"
    if codes and set(codes) <= HEDGES and not set(codes) & case.never:
        return "hedged"
    return "wrong"


CASES: list[Case] = []


def case(lesson, want, never=(), hedge_ok=False):
    def register(fn):
        CASES.append(Case(fn.__name__, lesson, fn, set(want), set(never), hedge_ok))
        return fn
    return register


ACCUMULATION = {"accumulated", "accumulated_likely"}
SQUARE = (lambda x: (x ** 2).sum(), lambda x: 2 * x)
CUBE_MEAN = (lambda x: (x ** 3).mean(), lambda x: x ** 2)


# -- lesson 01: requires_grad, backward, .grad ------------------------------------------------------

@case("01", {"grad_none_requires_grad"})
def forgot_requires_grad():
    x = torch.tensor([2.0, 3.0], dtype=F64)
    return gc.check(x, *SQUARE)


@case("01", {"grad_none_no_backward"})
def forgot_backward():
    x = leaf([2.0, 3.0])
    _ = (x ** 2).sum()
    return gc.check(x, *SQUARE)


@case("01", ACCUMULATION, never={"constant_factor", "constant_factor_sum_mean"})
def backward_twice_in_a_loop():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x ** 2).sum().backward()
    return gc.check(x, *SQUARE)


@case("01", ACCUMULATION)
def cell_run_three_times():
    x = leaf([1.0, 2.0, 4.0])
    for _ in range(3):
        y = (x ** 2).sum()
        y.backward()
    return gc.check(x, *SQUARE)


@case("01", {"constant_factor_sum_mean"}, never=ACCUMULATION)
def sum_instead_of_mean():
    x = leaf([1.0, 2.0, -0.5])
    (x ** 3).sum().backward()
    return gc.check(x, *CUBE_MEAN)


@case("01", {"constant_factor_sum_mean", "constant_factor"}, never=ACCUMULATION)
def mean_instead_of_sum():
    x = leaf([1.0, 2.0, -0.5])
    (x ** 2).mean().backward()
    return gc.check(x, *SQUARE)


@case("01", {"constant_factor"}, never=ACCUMULATION)
def extra_factor_two():
    x = leaf([1.0, 2.0, -0.5])
    (2 * x ** 3).sum().backward()
    return gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2)


@case("01", {"constant_factor"}, never=ACCUMULATION)
def forgot_the_power_rule_factor():
    x = leaf([1.0, 2.0, 3.0])
    return gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2, got=x.detach() ** 2)


@case("01", {"constant_factor", "constant_factor_sum_mean"}, never=ACCUMULATION)
def backward_with_a_weight_of_three():
    x = leaf([0.5, 1.5])
    torch.sin(x).sum().backward(torch.tensor(3.0, dtype=F64))
    return gc.check(x, lambda x: torch.sin(x).sum(), torch.cos)


@case("01", {"sign_flipped"})
def derivative_of_cos_without_minus():
    x = leaf([0.3, 1.2, 2.0])
    return gc.check(x, lambda x: torch.cos(x).sum(), lambda x: -torch.sin(x), got=torch.sin(x.detach()))


@case("01", set(), never={"sign_flipped", "accumulated", "accumulated_likely"}, hedge_ok=True)
def sign_error_at_a_single_point():
    x = leaf(1.0)
    return gc.check(x, lambda x: x ** 2 - 3 * x, lambda x: 2 * x - 3, got=torch.tensor(1.0, dtype=F64))


@case("01", set(), never={"accumulated", "accumulated_likely", "constant_factor"}, hedge_ok=True)
def integer_ratio_at_a_single_point():
    x = leaf(2.0)
    (x ** 3).backward()
    x.grad = None
    (x ** 3 + 12 * x).backward()  # a different function whose derivative is 2× at x = 2
    return gc.check(x, lambda x: x ** 3, lambda x: 3 * x ** 2)


@case("01", {"mismatch", "mismatch_hidden", "grad_not_from_f", "missing_paths"}, never={"float32_near"})
def off_by_one_loop_in_float64():
    x = leaf([0.7])
    s = sum(x ** k / k for k in range(1, 6))  # the task: k = 1 … 6
    s.sum().backward()
    return gc.check(x, lambda x: sum(x ** k / k for k in range(1, 7)).sum(),
                    lambda x: sum(x ** (k - 1) for k in range(1, 7)))


@case("01", {"float32_near"})
def float32_rounding_in_a_long_sum():
    x = leaf([0.9], dtype=torch.float32)
    y = sum(x ** k for k in range(1, 40))
    y.sum().backward()
    return gc.check(x, lambda x: sum(x ** k for k in range(1, 40)).sum(),
                    lambda x: sum(k * x ** (k - 1) for k in range(1, 40)), got=x.grad * (1 + 3e-4))


@case("01", {"low_precision_rounding"}, never={"grad_not_from_f", "grad_not_from_f_fd", "float32_near"})
def float32_cancellation_near_zero():
    x = leaf(1e-3, dtype=torch.float32)  # the experiment lesson 01 §5 invites, in float32
    f = lambda x: (torch.exp(x) - 1 - x) / x ** 2  # noqa: E731
    f(x).backward()
    return gc.check(x, f, lambda x: (x * torch.expm1(x) - 2 * torch.expm1(x) + 2 * x) / x ** 3)


@case("01", set(), never={"low_precision_rounding"}, hedge_ok=True)
def float32_code_of_another_function_is_not_called_rounding():
    x = leaf(1e-3, dtype=torch.float32)
    ((torch.exp(x) - 1 - 2 * x) / x ** 2).backward()  # not the function checked
    return gc.check(x, lambda x: (torch.exp(x) - 1 - x) / x ** 2,
                    lambda x: (x * torch.expm1(x) - 2 * torch.expm1(x) + 2 * x) / x ** 3)


@case("01", {"formula_wrong_directional"}, never={"formula_wrong"})
def a_wrong_formula_on_a_long_vector_quotes_no_finite_difference_of_an_element():
    x = leaf(torch.linspace(-2, 2, 100).tolist())  # finite differences along random directions only
    (x ** 3).sum().backward()
    return gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2 + (x > 1.9).double())


@case("01", {"formula_swapped"}, never={"formula_wrong", "formula_parts_wrong"})
def partials_returned_in_the_wrong_order():
    """Lesson 01 ex4: (∂g/∂y, ∂g/∂x), both derived right."""
    g = lambda x, y: x * torch.exp(x * y)  # noqa: E731
    at = (torch.tensor(1.5, dtype=F64), torch.tensor(0.5, dtype=F64))
    return gc.check_formula(g, lambda x, y: (x * x * torch.exp(x * y), (1 + x * y) * torch.exp(x * y)), at=at)


@case("06", {"err_inplace_expanded"})
def custom_backward_scales_grad_output_in_place():
    """`grad_output *= …`: y.sum().backward() hands the backward an expanded tensor of ones."""
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return 3 * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, grad_output):
            grad_output *= 3
            return grad_output

    return explained(lambda: Scale.apply(leaf([1.0, 2.0])).sum().backward())


@case("01", {"not_tensor"})
def a_python_float_as_input():
    return gc.check(2.0, lambda x: x ** 2, lambda x: 2 * x)


@case("01", {"not_float"})
def an_integer_tensor_as_input():
    return gc.check(torch.tensor([1, 2]), lambda x: x ** 2, lambda x: 2 * x)


@case("01", {"err_int_requires_grad"})
def requires_grad_on_an_integer_tensor():
    return explained(lambda: torch.tensor(3, requires_grad=True))


@case("01", {"err_scalar_only"})
def backward_of_a_vector_without_v():
    return explained(lambda: (leaf([1.0, 2.0]) ** 2).backward())


@case("01", {"err_backward_twice"})
def backward_twice_through_the_same_graph():
    def run():
        x = leaf([1.0, 2.0])
        y = torch.exp(x).sum()
        y.backward()
        y.backward()
    return explained(run)


@case("01", {"err_numpy_requires_grad"})
def numpy_of_a_tensor_that_requires_grad():
    return explained(lambda: leaf([1.0, 2.0]).numpy())


@case("01", {"output_not_scalar"})
def checking_a_vector_output_without_v():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    return gc.check(x, lambda x: x ** 2, lambda x: 2 * x)


@case("01", {"nan_got"})
def a_gradient_with_nan_from_sqrt_at_zero():
    x = leaf([0.0, 1.0])
    torch.sqrt(x).sum().backward()
    return gc.check(x, lambda x: torch.sqrt(x + 1).sum(), lambda x: 0.5 / torch.sqrt(x + 1))


# -- lesson 02: chain rule and graphs ---------------------------------------------------------------

@case("02", {"mismatch", "mismatch_hidden", "grad_not_from_f"}, never=ACCUMULATION | {"constant_factor"})
def chain_rule_without_the_inner_derivative():
    x = leaf([0.5, 1.0, 1.5])
    return gc.check(x, lambda x: torch.sin(x ** 2).sum(), lambda x: 2 * x * torch.cos(x ** 2),
                    got=torch.cos(x.detach() ** 2))


@case("02", {"formula_constant_factor"})
def a_formula_missing_the_factor_two():
    x = leaf([0.5, 1.0, 1.5])
    return gc.check_formula(lambda x: torch.sin(x ** 2).sum(), lambda x: x * torch.cos(x ** 2), x)


@case("02", {"formula_sign_flipped"})
def a_formula_with_the_wrong_sign():
    x = leaf([0.5, 1.0, 1.5])
    return gc.check_formula(lambda x: torch.exp(-x).sum(), lambda x: torch.exp(-x), x)


@case("02", {"formula_wrong", "formula_wrong_hidden"}, never={"formula_constant_factor", "formula_sign_flipped"})
def a_formula_forgetting_the_product_rule():
    x = leaf([0.5, 1.0, 1.5])
    return gc.check_formula(lambda x: (x * torch.sin(x)).sum(), lambda x: torch.cos(x), x)


@case("02", {"constant_factor"}, never=ACCUMULATION)
def fan_out_counted_once():
    x = leaf([0.5, -1.0, 2.0])
    y = x * x  # x is used twice: both uses contribute
    return gc.check(x, lambda x: (x * x).sum(), lambda x: 2 * x, got=y.detach() / x.detach())


@case("00", {"grad_none_returned_non_leaf"}, never={"grad_none_non_leaf"})
def returned_a_value_computed_from_the_leaf():
    def as_float_leaf(values):
        return torch.tensor(values, dtype=F64, requires_grad=True) * 1.0
    x = gc.answer(as_float_leaf, [1, 2, 3])
    (x ** 3).sum().backward()
    return gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2)


@case("02", {"grad_none_non_leaf"})
def reading_grad_of_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (h ** 2).sum().backward()
    return gc.check(h, lambda h: (h ** 2).sum(), lambda h: 2 * h)


@case("02", {"grad_none_graph_cut"})
def detach_in_the_middle():
    x = leaf([1.0, 2.0])

    def student(x):
        return (x.detach() ** 2).sum()
    return gc.check(x, student, lambda x: 2 * x)


@case("02", {"autograd_partial_cut"}, never={"code_differs"})
def partly_detached_function():
    x = leaf([0.5, 1.5])

    def f(x):
        return (x * x.detach()).sum()
    f(x).backward()
    return gc.check(x, f, lambda x: 2 * x)


# -- lesson 03: vector backward, vᵀJ ------------------------------------------------------------------

A = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=F64)
V = torch.tensor([1.0, 2.0], dtype=F64)


@case("03", {"wrong_v"})
def backward_with_ones_instead_of_v():
    x = leaf([0.3, -0.7])
    (A @ torch.sin(x)).backward(torch.ones(2, dtype=F64))
    return gc.check(x, lambda x: A @ torch.sin(x), v=V)


@case("03", {"wrong_v"})
def mean_instead_of_backward_v():
    x = leaf([0.3, -0.7, 1.1])
    M = torch.tensor([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0], [0.0, 3.0, 1.0]], dtype=F64)
    (M @ torch.exp(x)).mean().backward()
    return gc.check(x, lambda x: M @ torch.exp(x), v=torch.tensor([2.0, -1.0, 0.5], dtype=F64))


@case("03", {"jv_not_vjp"})
def jvp_instead_of_vjp():
    x = leaf([0.3, -0.7])
    _, jv = torch.func.jvp(lambda x: A @ torch.sin(x), (x.detach(),), (V,))
    return gc.check(x, lambda x: A @ torch.sin(x), got=jv, v=V)


@case("03", {"wrong_shape"})
def a_full_jacobian_where_a_gradient_is_asked():
    x = leaf([0.3, -0.7, 0.2])
    jac = torch.autograd.functional.jacobian(lambda x: torch.sin(x), x.detach())
    return gc.check(x, lambda x: torch.sin(x).sum(), torch.cos, got=jac.reshape(-1))


@case("03", {"hint_transposed"})
def a_transposed_jacobian():
    M = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64)
    return _value(M.T.contiguous(), M)


@case("03", {"hint_transposed"})
def a_square_jacobian_read_the_other_way_round():
    J = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    return _value(J.T.contiguous(), J)


@case("03", {"wrong_shape"})
def a_scalar_for_a_vector_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x ** 2).sum().backward()
    return gc.check(x, *SQUARE, got=x.grad.sum())


@case("03", {"sign_flipped"})
def sign_flipped_gradient_among_a_thousand_elements_without_analytic():
    x = torch.linspace(-2, 2, 1000, dtype=F64).requires_grad_()
    return gc.check(x, lambda x: (torch.sin(x) * x).sum(), got=-(torch.cos(x) * x + torch.sin(x)).detach())


@case("03", {"constant_factor_sum_mean"}, never=ACCUMULATION)
def mean_instead_of_sum_over_a_million_without_analytic():
    x = torch.linspace(-2, 2, 10 ** 6, dtype=F64).requires_grad_()
    (x ** 2).mean().backward()
    return gc.check(x, lambda x: (x ** 2).sum())


@case("03", {"projection_mismatch"}, never={"sign_flipped", "constant_factor", "accumulated"})
def a_swapped_pair_among_a_thousand_without_analytic():
    x = torch.linspace(-2, 2, 1000, dtype=F64).requires_grad_()
    g = (torch.cos(x) * x + torch.sin(x)).detach()
    g[[10, 900]] = g[[900, 10]]
    return gc.check(x, lambda x: (torch.sin(x) * x).sum(), got=g)


@case("03", {"mismatch", "mismatch_hidden", "grad_not_from_f"}, never={"sign_flipped", "constant_factor"})
def one_wrong_element_among_a_million_with_analytic():
    x = torch.linspace(-2, 2, 10 ** 6, dtype=F64).requires_grad_()
    g = (2 * x).detach()
    g[123_456] += 1.0
    return gc.check(x, *SQUARE, got=g)


@case("03", {"err_grad_output_shape", "err_scalar_only"})
def backward_with_v_of_the_wrong_shape():
    return explained(lambda: (leaf([1.0, 2.0]) ** 2).backward(torch.ones(3, dtype=F64)))


@case("03", {"grad_none_returned_no_grad"}, never={"grad_none_requires_grad"})
def returned_the_gradient_instead_of_the_leaf():
    """The docstring says "return the leaf x"; the student returns x.grad. Told only "x was created
    without requires_grad=True", they would fix what is not broken."""
    def grad_of_square(values):
        x = torch.tensor(values, dtype=F64, requires_grad=True)
        (x ** 2).sum().backward()
        return x.grad

    return gc.check(gc.answer(grad_of_square, [1.0, 2.0]), *SQUARE)


# -- lesson 04: no_grad, detach, .data, in place -----------------------------------------------------

@case("04", {"grad_none_graph_cut"})
def everything_under_no_grad():
    x = leaf([1.0, 2.0])

    def f(x):
        with torch.no_grad():
            return (x ** 2).sum()
    return gc.check(x, f, lambda x: 2 * x)


@case("04", {"err_no_grad_fn"})
def backward_of_a_result_made_under_no_grad():
    def run():
        x = leaf([1.0, 2.0])
        with torch.no_grad():
            y = (x ** 2).sum()
        y.backward()
    return explained(run)


@case("04", {"err_inplace"})
def in_place_change_of_a_saved_tensor():
    def run():
        x = leaf([1.0, 2.0])
        y = torch.exp(x)
        z = (y ** 2).sum()
        y += 1
        z.backward()
    return explained(run)


@case("04", {"err_leaf_inplace"})
def in_place_update_of_a_leaf_outside_no_grad():
    def run():
        w = leaf([1.0, 2.0])
        w -= 0.1
    return explained(run)


@case("04", {"grad_none_requires_grad", "grad_none_no_backward"})
def a_copy_made_with_torch_tensor_of_a_leaf():
    x = leaf([1.0, 2.0])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = torch.tensor(x.detach().numpy())
    (y ** 2).sum()
    return gc.check(y, *SQUARE)


@case("04", {"grad_not_from_f"}, never={"code_differs"})
def a_grad_left_over_from_an_earlier_function():
    x = leaf([0.5, 1.5])
    torch.exp(x).sum().backward()  # an earlier cell
    return gc.check(x, *SQUARE)


@case("04", {"grad_none_graph_cut"})
def item_in_the_middle_of_the_computation():
    x = leaf([1.0, 2.0])

    def f(x):
        return torch.tensor((x ** 2).sum().item(), dtype=F64)
    return gc.check(x, f, lambda x: 2 * x)


@case("04", {"err_requires_grad_non_leaf"})
def requires_grad_on_a_computed_tensor():
    return explained(lambda: (leaf([1.0]) * 2).requires_grad_(False))


@case("04", {"err_inference_saved"})
def a_tensor_from_inference_mode_in_a_graph():
    def run():
        x = leaf([1.0, 2.0])
        with torch.inference_mode():
            y = torch.tensor([3.0, 4.0], dtype=F64) * 2
        (y * x).sum().backward()
        (torch.exp(y) * x ** 2).sum().backward()
    return explained(run)


@case("04", {"err_grad_none_attr"})
def zero_grad_before_any_backward():
    return explained(lambda: leaf([1.0, 2.0]).grad.zero_())


@case("08", {"grad_not_from_f_fd"}, never={"code_differs", "grad_not_from_f"})
def a_training_loop_without_zero_grad():
    w = leaf([0.5, -0.3])
    data = torch.tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.1]], dtype=F64)
    loss = lambda w: ((data @ w - 1.0) ** 2).mean()
    opt = torch.optim.SGD([w], lr=0.1)
    for _ in range(3):
        loss(w).backward()  # zero_grad forgotten: .grad sums the three steps
        opt.step()
    return gc.check(w, loss)


# -- lesson 05: higher order --------------------------------------------------------------------------

@case("05", {"second_includes_first"}, never=ACCUMULATION)
def second_derivative_through_backward_create_graph():
    x = leaf([0.5, 1.2])
    f = lambda x: (x ** 3).sum()
    f(x).backward(create_graph=True)
    x.grad.sum().backward()
    return gc.check_second(x, f, lambda x: 6 * x)


@case("05", {"err_no_grad_fn_inputs", "err_no_grad_fn"})  # backward() cannot see x: both causes named
def differentiating_a_gradient_made_without_create_graph():
    def run():
        x = leaf([0.5, 1.2])
        (g,) = torch.autograd.grad((x ** 3).sum(), x)
        g.sum().backward()
    return explained(run)


@case("05", {"second_wrong_first"})
def mixed_second_derivative_of_the_wrong_first_derivative():
    x, y = leaf([0.4, 1.1]), leaf([0.7, -0.3])
    g = lambda x, y: (x ** 2 * y ** 3).sum()
    dfy = torch.autograd.grad(g(x, y), y, create_graph=True)[0]
    gx, gy = torch.autograd.grad(dfy.sum(), (x, y))
    return gc.check_second((x, y), g, got=(gx, gy), first=x)


@case("05", {"constant_factor"}, never=ACCUMULATION)
def second_derivative_missing_a_factor():
    x = leaf([0.5, 1.2, 2.0])
    return gc.check_second(x, lambda x: (x ** 4).sum(), lambda x: 12 * x ** 2, got=4 * x.detach() ** 2)


# -- lesson 06: custom Function, torch.func -------------------------------------------------------------

class _BadSquare(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x ** 2

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # forgot the 2


@case("06", {"custom_backward_wrong"}, never={"code_differs", "constant_factor"})
def a_custom_backward_missing_a_factor():
    x = leaf([0.5, 1.5])
    f = lambda x: _BadSquare.apply(x).sum()
    f(x).backward()
    return gc.check(x, f, lambda x: 2 * x)


class _OldStyle(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.exp()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.exp()


@case("06", {"err_setup_context"})
def old_style_function_under_torch_func():
    return explained(lambda: torch.func.grad(lambda x: _OldStyle.apply(x).sum())(torch.tensor([1.0], dtype=F64)))


@case("06", {"err_allow_unused"})
def grad_of_an_input_that_was_not_used():
    def run():
        x, y = leaf([1.0]), leaf([2.0])
        torch.autograd.grad((x ** 2).sum(), (x, y))
    return explained(run)


@case("06", {"wrong_shape"})
def jacobian_rows_flattened():
    x = leaf([0.3, -0.7, 0.2])
    jac = torch.autograd.functional.jacobian(torch.sin, x.detach())
    return gc.check(x, lambda x: torch.sin(x).sum(), torch.cos, got=jac)


# -- values: confirm / assert_close -----------------------------------------------------------------

def _value(got, expected):
    return gc.confirm("value", got, expected)


@case("00", {"value_wrong_shape"})
def a_row_where_a_column_is_asked():
    return _value(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0], [2.0]]))


@case("00", {"sign_flipped", "value_mismatch", "value_mismatch_hidden"}, never={"constant_factor"})
def a_value_with_the_wrong_sign():
    return _value(torch.tensor([-1.0, -2.0, 3.0]), torch.tensor([1.0, 2.0, -3.0]))


@case("00", {"constant_factor"})
def a_value_off_by_a_factor_ten():
    return _value(torch.tensor([10.0, 20.0, 30.0]), torch.tensor([1.0, 2.0, 3.0]))


@case("00", {"value_mismatch", "value_mismatch_hidden"}, never={"constant_factor", "sign_flipped"})
def a_value_wrong_in_one_element():
    return _value(torch.tensor([1.0, 2.5, 3.0]), torch.tensor([1.0, 2.0, 3.0]))


# -- evidence from gc.answer and the graph (issue 9's messages, lessons 00–08) -----------------------

def _codes_of(check):
    """The diagnosis codes an assert_* raises (its first), or None when it passes."""
    try:
        check()
    except gc.GradcoachAssertionError as exc:
        return exc.codes[0] if exc.codes else None
    return None


@case("00", {"err_result_cut"}, never={"err_no_grad_fn"})
def a_result_detached_before_it_is_returned():
    def quadratic_form(A, x):
        return (x @ A @ x).detach()
    A, x = torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=F64), leaf([1.0, -2.0])
    q = gc.answer(quadratic_form, A, x)
    return explained(q.backward)


@case("02", {"err_result_cut"}, never={"err_no_grad_fn"})
def a_loss_computed_from_x_data():
    def pseudo_huber(x):
        return (torch.sqrt(1 + x.data ** 2) - 1).mean()
    loss = gc.answer(pseudo_huber, leaf([0.5, -2.0, 3.0]))
    return explained(loss.backward)


@case("02", {"err_anomaly_nan"})
def anomaly_mode_stops_at_the_sqrt_of_zero():
    def run():
        x = leaf([0.0, 4.0])
        with torch.autograd.detect_anomaly():
            (torch.sqrt(x) * 0).sum().backward()  # 0 · 1/(2·√0): NaN in SqrtBackward0
    return explained(run)


@case("01", {"formula_sign_flipped"}, never={"formula_constant_factor"})
def a_formula_with_the_wrong_sign_checked_at_one_point():
    return gc.check_formula(lambda x: x / (1 + x ** 2), lambda x: (x ** 2 - 1) / (1 + x ** 2) ** 2, 0.5)


@case("01", {"formula_wrong", "formula_wrong_hidden"}, never={"formula_constant_factor", "formula_sign_flipped"})
def a_wrong_formula_that_is_some_multiple_at_its_one_point():
    # at x = 0.5 any wrong value is a multiple of the right one; elsewhere the ratio changes
    return gc.check_formula(lambda x: x / (1 + x ** 2), lambda x: (1 + x ** 2) / (1 + x ** 2) ** 2, 0.5)


def _g_xy(x, y):
    return x ** 2 * torch.exp(y) + y


def _which_partial_is_wrong(formula):
    return gc.check_formula(_g_xy, formula, (1.5, 0.5))


@case("01", {"formula_sign_flipped"}, never={"formula_constant_factor"})
def a_pair_of_partials_with_the_sign_of_one_wrong():
    # each input is moved to test the ratio elsewhere: one point does not prove a sign
    return _which_partial_is_wrong(lambda x, y: (2 * x * torch.exp(y), -(x ** 2 * torch.exp(y) + 1)))


@case("01", {"formula_wrong"}, never={"formula_constant_factor", "formula_sign_flipped"})
def a_pair_of_partials_with_the_product_rule_forgotten_in_one():
    return _which_partial_is_wrong(lambda x, y: (2 * x * torch.exp(y), x * torch.exp(y) + 1))


@case("04", {"grad_not_from_f"}, never=ACCUMULATION | {"integer_factor_unknown"})
def a_target_that_was_not_detached():
    def fixed_target_backward(w, a, b):
        loss = ((w * a).sum() - (w * b).sum()) ** 2  # the target (w * b).sum() should be .detach()ed
        loss.backward()
        return loss
    w, a, b = leaf([0.5, -1.0]), torch.tensor([2.0, 1.0], dtype=F64), torch.tensor([3.0, 0.5], dtype=F64)
    gc.answer(fixed_target_backward, w, a, b)
    t0 = float((w.detach() * b).sum())
    return gc.check(w, lambda w: ((w * a).sum() - t0) ** 2, lambda w: 2 * ((w * a).sum() - t0) * a)


@case("04", {"grad_modified_after_backward"}, never=ACCUMULATION | {"integer_factor_unknown"})
def grad_doubled_in_place_after_backward():
    def step(b, x, y):
        loss = ((x + b - y) ** 2).mean()
        loss.backward()
        b.grad *= 2
        return loss
    b, x, y = leaf([0.5]), torch.tensor([1.0, 2.0], dtype=F64), torch.tensor([2.0, 2.5], dtype=F64)
    gc.answer(step, b, x, y)
    return gc.check(b, lambda b: ((x + b - y) ** 2).mean(), lambda b: 2 * (x + b - y).mean().reshape(1))


@case("05", {"second_is_first"}, never={"grad_not_from_f", "code_differs"})
def second_derivative_with_a_single_backward():
    x = leaf(2.0)
    f = lambda x: x ** 2 * torch.log(x)
    f(x).backward()
    return gc.check_second(x, f, lambda x: 2 * torch.log(x) + 3)


_LSE = lambda z: torch.logsumexp(z, dim=0)  # noqa: E731


def _lse_hvp(z, v):
    s = torch.softmax(z, dim=0)
    return s * v - s * (s @ v)


def _hvp_case(make):
    z, v = torch.tensor([2.0, 1.0, 0.1, -1.0], dtype=F64), torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=F64)
    zz = z.clone().requires_grad_()
    (g,) = torch.autograd.grad(_LSE(zz), zz, create_graph=True)
    return gc.check_second(z, _LSE, _lse_hvp(z, v), v=v, got=make(g, zz, v).detach())


@case("05", {"second_wrong_v"}, never={"autograd_partial_cut", "custom_backward_wrong"})
def hvp_with_g_sum_instead_of_g_dot_v():
    return _hvp_case(lambda g, z, v: torch.autograd.grad(g.sum(), z)[0])


@case("05", {"second_times_v_again"}, never={"autograd_partial_cut", "custom_backward_wrong"})
def hvp_multiplied_by_v_again():
    return _hvp_case(lambda g, z, v: torch.autograd.grad((g * v).sum(), z)[0] * v)


@case("05", {"second_first_times_v"}, never={"autograd_partial_cut", "custom_backward_wrong"})
def hvp_as_the_gradient_times_v():
    return _hvp_case(lambda g, z, v: g * v)


def _hvp_checked_exactly(make):
    """Lesson 05 ex3's check: the exact H·v, to rtol 1e-12."""
    z, v = torch.tensor([2.0, 1.0, 0.1, -1.0], dtype=F64), torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=F64)
    return gc.check_second(z, _LSE, _lse_hvp(z, v), v=v, got=make(z, v), name="hvp(f, z0, v)", rtol=1e-12,
                           atol=1e-13)


def _lse_grad(z):
    z = z.detach().clone().requires_grad_()
    return torch.autograd.grad(_LSE(z), z)[0]


@case("05", {"near_exact"}, never={"mismatch", "autograd_partial_cut", "custom_backward_wrong"})
def hvp_by_finite_differences_of_the_gradient():
    return _hvp_checked_exactly(lambda z, v: (_lse_grad(z + 1e-5 * v) - _lse_grad(z - 1e-5 * v)) / 2e-5)


@case("05", {"second_not_from_f"}, never={"near_exact"}, hedge_ok=True)
def hvp_off_by_a_thousandth_is_not_called_an_estimate():
    return _hvp_checked_exactly(lambda z, v: _lse_hvp(z, v) + torch.tensor([1e-3, 0, 0, 0], dtype=F64))


class _IgnoresGradOutput(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x.clamp(max=0) - torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return torch.sigmoid(-x)  # grad_output forgotten: right only after y.sum().backward()


@case("06", {"custom_backward_ignores_grad_output"})
def custom_backward_that_ignores_grad_output():
    y = _IgnoresGradOutput.apply(leaf([-3.0, 0.0, 2.0]))
    return _codes_of(lambda: gc.assert_grad_fn(y, _IgnoresGradOutput, name="log_sigmoid(x)"))


class _WrongSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(max=0) - torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)  # sigmoid(x) where sigmoid(-x) was meant


@case("06", {"custom_backward_disagrees"}, never={"code_differs", "grad_not_from_f"})
def a_custom_backward_wrong_while_its_forward_is_right():
    def log_sigmoid(x):
        return _WrongSign.apply(x)
    x = leaf([-3.0, -0.5, 0.7, 4.0])
    gc.answer(log_sigmoid, x).sum().backward()
    return gc.check(x, lambda x: torch.nn.functional.logsigmoid(x).sum(), lambda x: torch.sigmoid(-x))


@case("07", {"missing_paths"}, never={"constant_factor", "sign_flipped"})
def hand_backward_overwrites_a_fan_out():
    # d/dx [x · sin x] has a term for each use of x; a hand-written backward that did `grad = …`
    # keeps only the last one
    x = leaf([0.5, 1.0, 2.0])
    return gc.check(x, lambda x: (x * torch.sin(x)).sum(), got=x.detach() * torch.cos(x.detach()))


_W_DATA = torch.tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [-1.0, 1.0]], dtype=F64)
_W_TARGET = torch.tensor([1.0, 0.0, 2.0, -1.0], dtype=F64)


def _w_loss(w, rows=slice(None)):
    return ((_W_DATA[rows] @ w - _W_TARGET[rows]) ** 2).mean()


def _training(step, with_leftover=False):
    """A student's step(w, opt) run through gc.answer on a fresh w; returns w."""
    w = leaf([0.5, -0.3])
    opt = torch.optim.SGD([w], lr=0.0)  # lr 0: the parameters stay where the check looks
    if with_leftover:
        _w_loss(w).mul(3).backward()  # a gradient left over from earlier work
    gc.answer(step, w, opt)
    return w


@case("08", {"accumulation_missing_division"}, never=ACCUMULATION | {"integer_factor_unknown"})
def accumulation_over_micro_batches_without_dividing_by_k():
    def accumulate_step(w, opt, k=2):
        opt.zero_grad()
        for j in range(k):
            _w_loss(w, slice(2 * j, 2 * j + 2)).backward()  # each should be divided by k
        opt.step()
        return _w_loss(w).item()
    return gc.check(_training(accumulate_step), _w_loss)


@case("08", {"accumulation_missing_division"}, never={"constant_factor"})
def accumulated_grad_compared_as_a_value():
    def accumulate_step(w, opt, k=2):
        opt.zero_grad()
        for j in range(k):
            _w_loss(w, slice(2 * j, 2 * j + 2)).backward()
        opt.step()
        return _w_loss(w).item()
    w = _training(accumulate_step)
    return gc.confirm("w.grad", w.grad, torch.func.grad(_w_loss)(w.detach()))


@case("08", {"grad_cleared_after_backward"}, never={"grad_none_no_backward", "grad_none_backward_never_called"})
def zero_grad_after_step():
    def train_step(w, opt):
        loss = _w_loss(w)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.item()
    return gc.check(_training(train_step), _w_loss)


@case("08", {"grad_cleared_after_backward"}, never={"grad_none_no_backward", "grad_none_backward_never_called"})
def zero_grad_between_backward_and_step():
    def train_step(w, opt):
        loss = _w_loss(w)
        loss.backward()
        opt.zero_grad()  # step() now sees no gradient
        opt.step()
        return loss.item()
    return gc.check(_training(train_step), _w_loss)


@case("08", {"grad_polluted_before_answer"}, never={"constant_factor"})
def forgot_zero_grad_before_the_step():
    def train_step(w, opt):
        loss = _w_loss(w)
        loss.backward()
        opt.step()
        return loss.item()
    w = _training(train_step, with_leftover=True)
    return gc.confirm("w.grad", w.grad, torch.func.grad(_w_loss)(w.detach()))


@case("08", {"grad_reset_between_passes"}, never=ACCUMULATION)
def zero_grad_inside_the_micro_batch_loop():
    def accumulate_step(w, opt, k=2):
        for j in range(k):
            opt.zero_grad()  # throws away the earlier micro-batches
            (_w_loss(w, slice(2 * j, 2 * j + 2)) / k).backward()
        opt.step()
        return _w_loss(w).item()
    w = _training(accumulate_step)
    return gc.confirm("w.grad", w.grad, torch.func.grad(_w_loss)(w.detach()))


# -- correct answers written differently must pass ------------------------------------------------------

CORRECT = []


def correct(fn):
    CORRECT.append(fn)
    return fn


@correct
def grad_via_autograd_grad():
    x = leaf([0.5, 1.5])
    (g,) = torch.autograd.grad(torch.exp(x).sum(), x)
    return gc.check(x, lambda x: torch.exp(x).sum(), torch.exp, got=g)


@correct
def reset_with_zero_then_backward():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    x.grad.zero_()
    (x ** 2).sum().backward()
    return gc.check(x, *SQUARE)


@correct
def float32_work_within_its_tolerance():
    x = leaf([0.3, 0.9, 1.7], dtype=torch.float32)
    torch.tanh(x).sum().backward()
    return gc.check(x, lambda x: torch.tanh(x).sum(), lambda x: 1 - torch.tanh(x) ** 2)


@correct
def relu_over_a_million_without_analytic():
    torch.manual_seed(1)
    x = torch.randn(10 ** 6, dtype=F64, requires_grad=True)
    torch.relu(x).sum().backward()
    return gc.check(x, lambda x: torch.relu(x).sum())


@correct
def mean_loss_over_a_million_in_float32():
    torch.manual_seed(2)
    x = torch.randn(10 ** 6, dtype=torch.float32, requires_grad=True)
    (torch.sin(x) ** 2).mean().backward()
    return gc.check(x, lambda x: (torch.sin(x) ** 2).mean())


@correct
def vector_backward_with_v():
    x = leaf([0.3, -0.7])
    (A @ torch.sin(x)).backward(V)
    return gc.check(x, lambda x: A @ torch.sin(x), v=V)


@correct
def second_derivative_with_autograd_grad_create_graph():
    x = leaf([0.5, 1.2])
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    return gc.check_second(x, lambda x: (x ** 3).sum(), lambda x: 6 * x, got=h)


@correct
def a_list_of_numbers_as_the_analytic_answer():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    return gc.check(x, lambda x: (x ** 2).sum(), [2.0, 4.0])


@correct
def grad_from_torch_func():
    x = leaf([0.5, 1.5, -0.4])
    g = torch.func.grad(lambda x: (torch.sin(x) * x).sum())(x.detach())
    return gc.check(x, lambda x: (torch.sin(x) * x).sum(), lambda x: torch.cos(x) * x + torch.sin(x), got=g)


@correct
def a_tensor_used_twice_in_one_backward():
    x = leaf([1.0, 2.0, 3.0])
    (x * x + 12 * x).sum().backward()
    return gc.check(x, lambda x: (x ** 2 + 12 * x).sum(), lambda x: 2 * x + 12)


@correct
def a_training_step_with_zero_grad():
    w = leaf([0.5, -0.3])
    data = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=F64)
    loss = lambda w: ((data @ w - 1.0) ** 2).mean()
    opt = torch.optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss(w).backward()
        if _ < 2:
            opt.step()
    return gc.check(w, loss)


@correct
def abs_away_from_zero():
    x = leaf([-1.5, -0.2, 0.4, 2.0])
    x.abs().sum().backward()
    return gc.check(x, lambda x: x.abs().sum(), torch.sign)


@correct
def accumulation_over_micro_batches_divided_by_k():
    def accumulate_step(w, opt, k=2):
        opt.zero_grad()
        for j in range(k):
            (_w_loss(w, slice(2 * j, 2 * j + 2)) / k).backward()
        opt.step()
        return _w_loss(w).item()
    return gc.check(_training(accumulate_step, with_leftover=True), _w_loss)


@correct
def a_train_step_in_the_right_order():
    def train_step(w, opt):
        opt.zero_grad()
        loss = _w_loss(w)
        loss.backward()
        opt.step()
        return loss.item()
    return gc.check(_training(train_step, with_leftover=True), _w_loss)


@correct
def hvp_by_differentiating_g_dot_v():
    z, v = torch.tensor([0.5, -0.5, 1.5], dtype=F64), torch.tensor([2.0, 0.0, -1.0], dtype=F64)
    zz = z.clone().requires_grad_()
    (g,) = torch.autograd.grad(_LSE(zz), zz, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, zz)
    return gc.check_second(z, _LSE, _lse_hvp(z, v), v=v, got=hv)


@correct
def hvp_by_double_backward_is_exact_to_1e_12():
    def hvp(z, v):
        zz = z.clone().requires_grad_()
        (g,) = torch.autograd.grad(_LSE(zz), zz, create_graph=True)
        return torch.autograd.grad(g @ v, zz)[0]
    return _hvp_checked_exactly(hvp)


# -- review 23: evidence that used to be misread ---------------------------------------------------

@case("01", {"grad_cleared_in_answer"}, never={"grad_none_graph_cut"})
def grad_reset_after_backward_inside_the_answer():
    def grad_of_cubic(x0):
        x = torch.tensor(x0, dtype=F64, requires_grad=True)
        (x ** 3).backward()
        x.grad = None  # "resetting", one line too late
        return x
    return gc.check(gc.answer(grad_of_cubic, 1.5), lambda x: x ** 3, lambda x: 3 * x ** 2)


@case("05", {"grad_none_backward_never_called"}, never={"grad_none_graph_cut"})
def second_derivative_without_the_second_backward():
    def second_derivative(f, x0):
        x = torch.tensor(x0, dtype=F64, requires_grad=True)
        (fx,) = torch.autograd.grad(f(x), x, create_graph=True)
        return x  # fx.backward() forgotten: autograd.grad wrote no .grad
    f = lambda x: x ** 2 * torch.log(x)
    return gc.check_second(gc.answer(second_derivative, f, 2.0), f, lambda x: 2 * torch.log(x) + 3)


@case("05", {"second_is_first_hvp"}, never={"second_is_first"})
def hvp_returning_the_gradient():
    return _hvp_case(lambda g, z, v: g)


@case("01", {"formula_count_single"}, never={"not_tensor"})
def formula_returning_one_partial_of_two():
    return gc.check_formula(lambda x, y: x ** 2 * y, lambda x, y: 2 * x * y, (1.5, -0.5))


@case("05", {"second_rows_added"}, never={"grad_not_from_f", "second_wrong_first"})
def second_row_after_both_first_derivatives_backpropagated():
    """Lesson 05 §2's mistake: backward from ∂f/∂x, then from ∂f/∂w, into the same .grad."""
    x, w = leaf(1.0), leaf(2.0)
    f = lambda x, w: torch.sin(x * w) + x ** 2 * w ** 3
    fx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)
    fx.backward(retain_graph=True)
    fw.backward()
    return gc.check_second((x, w), f, first=w)


@case("07", {"grad_not_from_f_fd"}, never={"code_differs"}, hedge_ok=True)
def hand_written_rule_without_out_grad():
    """A hand-built engine's gradient handed in with got=: the first cause listed is other code."""
    a = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    got = torch.tanh(a)  # d tanh/da is 1 - tanh², not tanh
    report = gc.check(a, lambda a: torch.tanh(a).sum(), got=got)
    assert report.messages[0].split("\n1. ", 1)[1].startswith(t("cause_got_other_code")[:40]), report.messages[0]
    return report


@case("05", {"second_includes_first_hvp"}, never={"second_not_from_f", "cause_got_other_code"})
def hvp_read_from_a_grad_that_held_the_gradient():
    """Lesson 05 ex3: backward(create_graph=True), then a second backward() into the same z.grad."""
    z0, v = torch.tensor([2.0, 1.0, 0.1], dtype=F64), torch.tensor([1.0, -1.0, 0.5], dtype=F64)
    f = lambda z: torch.logsumexp(z, dim=0)  # noqa: E731
    z = z0.clone().requires_grad_()
    f(z).backward(create_graph=True)
    (z.grad * v).sum().backward()
    s = torch.softmax(z0, dim=0)
    return gc.check_second(z0, f, s * v - s * (s @ v), v=v, got=z.grad.detach(), rtol=1e-12, atol=1e-13)


@case("02", {"wrong_shape"}, never={"formula_wrong"})
def formula_summed_to_one_number_for_a_vector():
    """Lesson 02 ex2: the right derivatives, summed: one number where one per element is due."""
    a = torch.tensor([0.0, 0.5, 1.0, -0.5], dtype=F64)
    f = lambda a: torch.log(1 + (3 * a - 1) ** 2).mean()  # noqa: E731
    return gc.check_formula(f, lambda a: (6 * (3 * a - 1) / (4 * (1 + (3 * a - 1) ** 2))).sum(), at=a)


@case("05", {"second_includes_first"}, never={"grad_not_from_f"})
def second_row_after_backward_with_create_graph():
    """Lesson 05 ex2 by backward(create_graph=True): .grad held ∂f/∂x and ∂f/∂w before ∂f/∂w's backward."""
    x, w = leaf(1.0), leaf(2.0)
    f = lambda x, w: torch.sin(x * w) + x ** 2 * w ** 3
    f(x, w).backward(create_graph=True)
    w.grad.backward()
    f_wx = lambda x, w: torch.cos(x * w) - x * w * torch.sin(x * w) + 6 * x * w ** 2
    f_ww = lambda x, w: -x ** 2 * torch.sin(x * w) + 6 * x ** 2 * w
    return gc.check_second((x, w), f, (f_wx, f_ww), first=w)


@case("01", {"grad_zeroed_in_answer"}, never={"grad_not_from_f", "accumulated"})
def grad_zeroed_after_backward_inside_the_answer():
    def grad_of_cubic(x0):
        x = torch.tensor(x0, dtype=F64, requires_grad=True)
        (x ** 3).backward()
        x.grad.zero_()  # "resetting", one line too late
        return x
    return gc.check(gc.answer(grad_of_cubic, 1.5), lambda x: x ** 3, lambda x: 3 * x ** 2)


@case("01", {"grad_none_after_backward"}, never={"grad_cleared_in_answer", "grad_none_graph_cut"})
def reset_first_then_backward_from_another_leaf():
    """The reset comes before backward(), as taught: it is not what lost the gradient."""
    def grad_of_cubic(x0):
        x = torch.tensor(x0, dtype=F64, requires_grad=True)
        x.grad = None
        other = torch.tensor(x0, dtype=F64, requires_grad=True)
        (other ** 3).backward()
        return x
    return gc.check(gc.answer(grad_of_cubic, 1.5), lambda x: x ** 3, lambda x: 3 * x ** 2)


@case("01", {"grad_none_after_backward"}, never={"grad_cleared_in_answer"})
def backward_from_another_leaf_whose_grad_is_then_reset():
    """The reset after backward() is of another tensor (y): it is not what x lacks."""
    def grad_of_cubic(x0):
        x = torch.tensor(x0, dtype=F64, requires_grad=True)
        y = torch.tensor(x0, dtype=F64, requires_grad=True)
        (y ** 3).backward()
        y.grad = None
        return x
    return gc.check(gc.answer(grad_of_cubic, 1.5), lambda x: x ** 3, lambda x: 3 * x ** 2)
