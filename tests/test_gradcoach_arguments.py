"""Every public gradcoach function answers a bad argument with a localized usage message that names
the argument and the fix — never an exception from inside gradcoach."""
import re

import numpy as np
import pytest
import torch

import gradcoach as gc
from gradcoach.evaluate import GradcoachUsageError
from gradcoach.i18n import catalogue


def leaf():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x ** 2).sum().backward()
    return x


def sq(x):
    return (x ** 2).sum()


def dsq(x):
    return 2 * x


BAD = {  # call → the catalogue key of the message it must get
    "check_f_not_callable": (lambda: gc.check(leaf(), 3, dsq), "usage_not_callable"),
    "check_f_and_inputs_swapped": (lambda: gc.check(sq, leaf(), dsq), "usage_not_callable"),
    "check_expected_of_the_wrong_length": (lambda: gc.check(leaf(), sq, [2.0, 4.0, 1.0]), "usage_expected_shape"),
    "check_expected_a_string": (lambda: gc.check(leaf(), sq, "2x"), "usage_expected_kind"),
    "check_expected_a_list_of_strings": (lambda: gc.check(leaf(), sq, ["2", "4"]), "usage_numbers"),
    "check_f_with_two_parameters": (lambda: gc.check(leaf(), lambda a, b: a + b, dsq), "usage_f_failed"),
    "check_f_returning_a_list": (lambda: gc.check(leaf(), lambda x: [1.0], dsq), "usage_f_returns"),
    "check_f_returning_none": (lambda: gc.check(leaf(), lambda x: None, dsq), "usage_f_returns"),
    "check_f_raising": (lambda: gc.check(leaf(), lambda x: x.foo(), dsq), "usage_f_failed"),
    "check_got_one_gradient_for_two_inputs": (
        lambda: gc.check((leaf(), leaf()), lambda a, b: (a * b).sum(), got=(torch.ones(2),)), "usage_got_count"),
    "check_v_of_the_wrong_size": (lambda: gc.check(leaf(), lambda x: x ** 2, v=torch.ones(3)), "usage_v_size"),
    "check_atol_as_a_string": (lambda: gc.check(leaf(), sq, dsq, atol="1e-3"), "usage_tolerance"),
    "check_rtol_negative": (lambda: gc.check(leaf(), sq, dsq, rtol=-1e-6), "usage_tolerance"),
    "check_second_vector_f": (lambda: gc.check_second(leaf(), lambda x: x ** 2), "usage_second_scalar"),
    "check_second_first_unknown_name": (lambda: gc.check_second(leaf(), sq, first="y"), "usage_first"),
    "check_second_first_out_of_range": (lambda: gc.check_second(leaf(), sq, first=5), "usage_first"),
    "check_formula_f_not_callable": (lambda: gc.check_formula(None, dsq, 1.0), "usage_not_callable"),
    "check_formula_at_a_string": (lambda: gc.check_formula(sq, dsq, "one"), "usage_at"),
    "check_formula_f_raising": (lambda: gc.check_formula(lambda x: x.foo(), dsq, 1.0), "usage_f_failed"),
    "confirm_label_and_value_swapped": (lambda: gc.confirm(torch.tensor(1.0), torch.tensor(1.0), "f"), "usage_label"),
    "confirm_expected_a_string": (lambda: gc.confirm("f(2)", torch.tensor(1.0), "one"), "usage_expected_value"),
    "confirm_atol_negative": (lambda: gc.confirm("f(2)", torch.tensor(1.0), 1.0, atol=-1), "usage_tolerance"),
    "assert_grad_atol_as_a_string": (lambda: gc.assert_grad(leaf(), sq, dsq, atol="big"), "usage_tolerance"),
    "answer_not_a_function": (lambda: gc.answer(3), "usage_not_callable"),
    "finite_difference_f_not_callable": (lambda: gc.finite_difference(3, 1.0), "usage_not_callable"),
    "finite_difference_point_a_string": (lambda: gc.finite_difference(sq, "a"), "usage_point"),
    "finite_difference_step_zero": (lambda: gc.finite_difference(sq, 1.0, h=0), "usage_step"),
    "finite_difference_step_negative": (lambda: gc.finite_difference(sq, 1.0, h=-1e-3), "usage_step"),
    "set_language_unknown": (lambda: gc.set_language("fr"), "usage_language"),
    "set_language_not_a_string": (lambda: gc.set_language(None), "usage_language"),
}


def _first_words(key: str, lang: str) -> str:
    """The longest fixed text of the message (between its placeholders)."""
    return max(re.split(r"\{[^}]*\}", catalogue(lang)[key]), key=len).strip()


@pytest.mark.parametrize("lang", ["en", "ja", "ko"])
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_argument_gets_its_usage_message_in_the_notebook_language(name, lang):
    call, key = BAD[name]
    gc.set_language(lang)
    try:
        with pytest.raises(GradcoachUsageError) as info:
            call()
    finally:
        gc.set_language("en")
    assert _first_words(key, lang) in str(info.value)
    assert info.value._render_traceback_() == [f"GradcoachUsageError: {info.value}"]  # no traceback in IPython


ACCEPTED = {  # what a student may reasonably pass instead of a tensor
    "a_numpy_array_as_the_analytic_answer": lambda: gc.check(leaf(), sq, np.array([2.0, 4.0])),
    "a_list_of_numbers_as_the_analytic_answer": lambda: gc.check(leaf(), sq, [2.0, 4.0]),
    "a_numpy_array_as_got": lambda: gc.check(leaf(), sq, dsq, got=np.array([2.0, 4.0])),
    "a_numpy_array_as_v": lambda: gc.check(leaf(), lambda x: x ** 2, v=np.ones(2)),
    "a_list_of_numbers_as_the_point_of_check_formula": lambda: gc.check_formula(sq, dsq, [1.0, 2.0]),
    "a_numpy_array_for_confirm": lambda: gc.confirm("v", np.array([1.0]), [1.0]),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_reasonable_stand_in_for_a_tensor_is_accepted(name):
    assert ACCEPTED[name]().passed


@pytest.mark.parametrize("inputs", [2.0, np.array([1.0, 2.0]), [1.0, 2.0], torch.tensor([1, 2]),
                                    torch.tensor([1 + 1j])], ids=["float", "numpy", "list", "int", "complex"])
def test_inputs_that_cannot_carry_a_gradient_get_a_failed_report_not_an_exception(inputs):
    report = gc.check(inputs, sq, dsq)
    assert not report.passed and report.codes[0] in {"not_tensor", "not_float"}
