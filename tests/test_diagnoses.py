"""Beginners' mistakes, typed as a student would, and what gradcoach must (and must not) say.

Each case names the diagnosis it must get and the wrong causes it must not claim: a confident wrong
cause is worse than none.
"""
import pytest
import torch

import gradcoach as gc
from gradcoach.evaluate import GradcoachUsageError


def leaf(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def fails(report):
    assert not report.passed, str(report)
    return report.codes


mse = lambda w: ((w * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) - 1.0) ** 2).mean()
dmse = lambda w: 2 * (w * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) - 1.0) \
    * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) / 3


# -- an integer ratio is accumulation only when .grad shows it -----------------------------------

def test_sum_instead_of_mean_is_a_factor_in_the_code_not_accumulation():
    x = leaf([1.0, 2.0, -0.5])
    (x ** 3).sum().backward()  # the task: the mean of x³
    codes = fails(gc.check(x, lambda x: (x ** 3).mean(), lambda x: x ** 2))
    assert codes == ["constant_factor_sum_mean"]
    assert "accumulated" not in codes


def test_an_extra_factor_two_in_the_code_is_not_called_accumulation():
    x = leaf([1.0, 2.0, -0.5])
    (2 * x ** 3).sum().backward()
    codes = fails(gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2))
    assert codes == ["constant_factor"] and "accumulated" not in codes


def test_backward_with_a_number_is_a_factor_not_accumulation():
    x = leaf([0.5, 1.5])
    torch.sin(x).sum().backward(torch.tensor(2.0, dtype=torch.float64))
    codes = fails(gc.check(x, lambda x: torch.sin(x).sum(), torch.cos))
    assert codes in (["constant_factor"], ["constant_factor_sum_mean"])  # 2 is also the element count


def test_backward_run_twice_in_a_loop_is_accumulation():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x ** 2).sum().backward()
    report = gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x)
    assert fails(report) == ["accumulated_likely"]
    assert "x.grad = None" in report.messages[0]


def test_rerunning_a_cell_three_times_is_accumulation():
    w = leaf([0.3, -0.2, 0.1])
    for _ in range(3):  # the student pressed Shift+Enter three times
        mse(w).backward()
    assert fails(gc.check(w, mse, dmse)) == ["accumulated_likely"]


def test_reset_with_zero_then_one_backward_passes():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    x.grad.zero_()
    (x ** 2).sum().backward()
    assert gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x).passed


def test_an_integer_factor_at_a_single_point_is_not_blamed_on_one_cause():
    x = leaf(1.0)
    (2 * x ** 3).backward()  # at x = 1 a wrong formula can look like any multiple
    codes = fails(gc.check(x, lambda x: x ** 3, lambda x: 3 * x ** 2))
    assert "accumulated" not in codes and "sign_flipped" not in codes


def test_a_sign_error_at_one_point_is_not_called_a_sign_flip_everywhere():
    x = leaf(2.0)
    (x ** 2 - 2 * x * 4).backward()  # 2x − 8 = −4 = −(2x) at x = 2 only
    codes = fails(gc.check(x, lambda x: x ** 2, lambda x: 2 * x))
    assert "sign_flipped" not in codes and "accumulated" not in codes


def test_create_graph_accumulation_is_found_from_the_graph_of_grad():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x ** 3).sum().backward(create_graph=True)
    report = gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2)
    assert fails(report) == ["accumulated_likely"]
    x.grad = None


# -- the float32 hint ------------------------------------------------------------------------------

def test_an_off_by_one_loop_in_float64_is_not_called_rounding():
    x = leaf([1.0, 2.0, 3.0])
    y = x
    for _ in range(3):  # the task said 4 times: x · 1.1⁴
        y = y * 1.1
    y.sum().backward()
    report = gc.check(x, lambda x: (x * 1.1 ** 4).sum(), lambda x: 1.1 ** 4 + 0 * x)
    assert "float32_near" not in fails(report)


def test_a_float32_computation_slightly_off_gets_the_float32_hint():
    x = leaf([1.0, 2.0], dtype=torch.float32)
    got = (3 * x.detach() ** 2) * (1 + 4e-4)
    report = gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2, got=got)
    assert fails(report) == ["float32_near"] and "float32" in report.messages[0]


# -- a forgotten backward() is not blamed on a correct .detach() -----------------------------------

def test_forgotten_backward_in_an_answer_with_a_correct_detach_says_backward_never_ran():
    def student(x0):
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        target = (x * 2).detach()  # correct use: the target is held fixed
        loss = (x - target) ** 2 + x ** 3  # noqa: F841 - the student forgot loss.backward()
        return x  # forgot loss.backward()

    x = gc.answer(student, 2.0)
    report = gc.check(x, lambda x: x ** 3, lambda x: 3 * x ** 2)
    codes = fails(report)
    assert codes == ["grad_none_backward_never_called"]
    assert ".detach()" not in report.messages[0]


def test_a_real_graph_cut_in_the_answer_still_names_the_culprit():
    def student(x0):
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(x.item() ** 2, requires_grad=True)  # .item() cuts the graph
        y.backward()
        return x

    x = gc.answer(student, 2.0)
    report = gc.check(x, lambda x: x ** 2, lambda x: 2 * x)
    assert fails(report) == ["grad_none_graph_cut"] and ".item()" in report.messages[0]


# -- "a different function" only after autograd on f was tried -------------------------------------

def test_data_corruption_of_a_saved_tensor_lists_it_first():
    x = leaf([1.0, 2.0, 3.0])
    y = torch.exp(x)
    loss = y.sum()
    y.data.add_(1)  # changes the saved result; autograd is not told
    loss.backward()
    report = gc.check(x, lambda x: torch.exp(x).sum(), torch.exp)
    assert fails(report) == ["grad_not_from_f"]
    first_cause = report.messages[0].split("\n1. ", 1)[1]
    assert first_cause.startswith("a value that autograd saved")


def test_a_polluted_grad_from_an_earlier_backward_lists_pollution_first():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()   # an earlier exercise in the same cell
    torch.sin(x).sum().backward()
    report = gc.check(x, lambda x: torch.sin(x).sum(), torch.cos)
    assert fails(report) == ["grad_not_from_f"]
    assert report.messages[0].split("\n1. ", 1)[1].startswith("`.grad` still held")


class WrongSquare(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x ** 2

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x  # forgot the 2


def test_a_wrong_custom_backward_is_named_not_the_forward():
    f = lambda x: WrongSquare.apply(x).sum()
    x = leaf([1.0, 2.0, 3.0])
    f(x).backward()
    report = gc.check(x, f, lambda x: 2 * x)
    assert fails(report) == ["custom_backward_wrong", "custom_backward_factor"]  # it forgot the 2
    assert "WrongSquare" in report.messages[0] and "1/2 times the right one" in report.messages[1]


def test_a_partly_detached_function_is_a_partial_cut():
    f = lambda x: (x * x.detach()).sum()
    x = leaf([1.0, 2.0])
    f(x).backward()
    report = gc.check(x, f, lambda x: 2 * x)
    assert fails(report) == ["autograd_partial_cut"] and ".detach()" in report.messages[0]


def test_f_prime_plus_f_second_through_create_graph_backward():
    f = lambda x: (x ** 3).sum()
    x = leaf([1.0, 2.0])
    f(x).backward(create_graph=True)   # x.grad = 3x² (with a graph)
    x.grad.sum().backward()           # adds 6x: x.grad = 3x² + 6x
    report = gc.check_second(x, f, lambda x: 6 * x, first=x)
    assert "second_includes_first" in fails(report) or "accumulated" in report.codes
    x.grad = None


# -- the same wrong formula gets the same words from check and check_formula ------------------------

def test_a_half_formula_is_named_the_same_by_check_and_check_formula():
    f = lambda x: (x ** 2).sum()
    x = leaf([1.0, 2.0, 3.0])
    f(x).backward()
    assert fails(gc.check(x, f, lambda x: x)) == ["formula_constant_factor"]
    assert fails(gc.check_formula(f, lambda x: x, at=torch.tensor([1.0, 2.0, 3.0]))) == ["formula_constant_factor"]


def test_one_value_at_one_point_is_never_called_a_constant_factor():
    """x² at x = 3 is 3/2 of the right 6, by coincidence: with a value (no formula to move to other
    points) nothing shows that the ratio is the same elsewhere, so no factor is claimed."""
    f = lambda x: x ** 2
    x = leaf(3.0)
    f(x).backward()
    assert fails(gc.check(x, f, torch.tensor(9.0, dtype=torch.float64))) == ["formula_wrong"]


def test_sign_or_factor_names_minus_one_and_simple_fractions_only():
    from gradcoach.compare import sign_or_factor

    assert sign_or_factor(-1.0, 3) == ("sign", None)
    assert sign_or_factor(0.5, 3) == ("factor", "1/2")
    assert sign_or_factor(1.0, 3) is None and sign_or_factor(None, 3) is None
    assert sign_or_factor(0.7313, 3) is None


# -- f is evaluated in float64 whatever it captured -------------------------------------------------

def test_f_capturing_a_float32_matrix_is_checked_not_crashed():
    W = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])  # float32, from outside f
    x = leaf([0.1, 0.2, 0.3])
    (W.double() @ x).sum().backward()
    report = gc.check(x, lambda x: (W @ x).sum(), lambda x: W.double().sum(0))
    assert report.passed, str(report)


def test_an_analytic_callable_may_return_one_answer_per_input():
    x, y = leaf(1.0), leaf(2.0)
    (x * y ** 2).backward()
    assert gc.check((x, y), lambda x, y: x * y ** 2, lambda x, y: (y ** 2, 2 * x * y)).passed


def test_a_list_of_numbers_is_accepted_as_the_analytic_answer():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    assert gc.check(x, lambda x: (x ** 2).sum(), [2.0, 4.0]).passed


# -- bad arguments get a clear message, not an internal exception -----------------------------------

def test_f_that_is_not_a_function_is_a_usage_error():
    x = leaf(1.0)
    with pytest.raises(GradcoachUsageError, match="function"):
        gc.check(x, 3.0)


def test_f_returning_a_list_is_a_usage_error():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward()
    with pytest.raises(GradcoachUsageError, match="return"):
        gc.check(x, lambda x: [1.0, 2.0])


def test_f_with_the_wrong_number_of_parameters_is_a_usage_error():
    x = leaf(1.0)
    (x ** 2).backward()
    with pytest.raises(GradcoachUsageError, match="order"):
        gc.check(x, lambda x, w: x * w)


def test_usage_errors_speak_the_notebook_language():
    gc.set_language("ja")
    try:
        with pytest.raises(GradcoachUsageError, match="関数"):
            gc.check(leaf(1.0), "x**2")
    finally:
        gc.set_language("en")


def test_usage_errors_show_no_traceback_in_ipython():
    err = GradcoachUsageError("message")
    assert err._render_traceback_() == ["GradcoachUsageError: message"]


# -- values: shapes are compared, not only sizes -------------------------------------------------

def test_a_flattened_jacobian_fails_on_its_shape():
    report = gc.confirm("jac", torch.arange(6.0, dtype=torch.float64), torch.arange(6.0).reshape(2, 3))
    assert fails(report) == ["value_wrong_shape"]


def test_a_transposed_jacobian_is_named_as_such():
    J = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64)
    report = gc.confirm("jac", J.T.contiguous(), J)
    assert fails(report) == ["value_wrong_shape", "hint_transposed"] and "transpose" in report.messages[0]


def test_a_zero_d_tensor_and_a_one_element_tensor_are_equal_in_shape():
    assert gc.confirm("one", torch.tensor([3.0], dtype=torch.float64), 3.0).passed
    assert gc.confirm("one", torch.tensor(3.0, dtype=torch.float64), torch.tensor([3.0])).passed


def test_a_vector_is_not_accepted_for_a_single_number_in_a_graded_check():
    with pytest.raises(AssertionError, match="shape"):
        gc.assert_close(torch.tensor([3.0, 3.0], dtype=torch.float64), 3.0)


def test_a_difference_beyond_the_quoted_elements_is_quoted():
    """Ten values, only the last one wrong: "yours" and "expected" must not read the same."""
    expected = torch.arange(10, dtype=torch.float64)
    got = expected.clone()
    got[9] = 99.0
    with pytest.raises(AssertionError) as caught:
        gc.assert_close(got, expected, name="v", reveal=True)
    message = str(caught.value)
    assert "…, 4, 5, 6, 7, 8, 99]" in message and "…, 4, 5, 6, 7, 8, 9]" in message, message


def test_a_lesson_may_state_one_number_for_every_element():
    assert gc.confirm("all-27", torch.full((2, 2), 27.0), 27).passed


def test_a_value_off_by_a_factor_is_named():
    report = gc.confirm("v", torch.tensor([2.0, 4.0], dtype=torch.float64), torch.tensor([1.0, 2.0]))
    assert fails(report) == ["constant_factor"]


# -- the explainer ---------------------------------------------------------------------------------

def test_differentiating_a_gradient_made_without_create_graph_says_create_graph():
    x = leaf(3.0)
    (g,) = torch.autograd.grad(x ** 3, x)
    with pytest.raises(RuntimeError) as err:
        torch.autograd.grad(g, x)
    text = gc.explain(err.value)
    assert "create_graph=True" in text and "Set requires_grad=True" not in text


def test_backward_of_a_constant_still_says_requires_grad():
    with pytest.raises(RuntimeError) as err:
        (torch.tensor(2.0) ** 2).backward()
    assert "requires_grad=True" in gc.explain(err.value)


@pytest.mark.parametrize("make_error, key_words", [
    (lambda: (leaf([1.0, 2.0]) ** 2).backward(torch.ones(3, dtype=torch.float64)), "shape"),
    (lambda: torch.autograd.grad(leaf(1.0) * 2, [leaf(1.0)]), "allow_unused"),
    (lambda: setattr(leaf(1.0) * 2, "requires_grad", False), "leaf"),
    (lambda: leaf(1.0).grad.zero_(), "None"),
    (lambda: leaf(1.0).grad - 1.0, "None"),
])
def test_explainer_covers_the_errors_these_lessons_provoke(make_error, key_words):
    with pytest.raises(Exception) as err:
        make_error()
    text = gc.explain(err.value)
    assert text and key_words in text


def test_a_custom_function_in_the_old_ctx_style_under_torch_func_is_explained():
    class Old(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(RuntimeError) as err:
        torch.func.jacrev(Old.apply)(torch.tensor([1.0, 2.0]))
    assert "setup_context" in gc.explain(err.value)


# -- correct answers in varied forms pass silently -------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda x: (x ** 3).sum().backward(),
    lambda x: (x * x * x).sum().backward(),
    lambda x: torch.pow(x, 3).sum().backward(),
    lambda x: (x ** 3).backward(torch.ones_like(x)),
    lambda x: setattr(x, "grad", torch.autograd.grad((x ** 3).sum(), x)[0]),
])
def test_correct_answers_written_differently_pass(make):
    x = leaf([1.0, -2.0, 0.5])
    make(x)
    report = gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2)
    assert report.passed and not report.messages


def test_a_tensor_used_twice_in_one_backward_is_not_called_accumulation():
    # x*x sums two contributions in place within ONE pass: .grad's version counter moves anyway
    x = leaf([1.0, 2.0, 3.0])
    (2 * x * x).sum().backward()
    report = gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x)
    codes = fails(report)
    assert "accumulated" not in codes  # never the confident claim
    if codes == ["accumulated_likely"]:  # .grad looks like two passes of f: the other cause is named too
        assert ".sum()" in report.messages[0] and "only once" in report.messages[0]


def test_a_single_backward_of_the_same_fan_out_function_is_a_factor_in_the_code():
    x = leaf([1.0, 2.0, 3.0])
    f = lambda x: (x ** 3 + 12 * x).sum()
    (2 * f(x)).backward()
    assert fails(gc.check(x, f, lambda x: 3 * x ** 2 + 12)) in (["constant_factor"], ["integer_factor_unknown"])


def test_an_answer_that_runs_backward_twice_is_proved_accumulated():
    def student(x):
        for _ in range(2):
            (x ** 2).sum().backward()
        return x

    x = gc.answer(student, leaf([1.0, 2.0]))
    assert fails(gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x)) == ["accumulated"]


def test_every_diagnosis_rule_states_its_evidence_and_the_last_always_speaks():
    from gradcoach import diagnose
    assert all(rule.__doc__ and rule.__name__.startswith("rule_") for rule in diagnose.RULES)
    assert diagnose.RULES[-1] is diagnose.rule_mismatch
