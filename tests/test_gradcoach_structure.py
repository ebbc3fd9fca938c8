"""Structural asserts: leaves that must get no gradient, results that must build no graph, the
Function that made a tensor, one-word answers."""
import pytest
import torch

import gradcoach as gc


class Square(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x ** 2

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_assert_no_grad_passes_for_an_untouched_leaf_and_explains_a_filled_one():
    w = torch.tensor(2.0, requires_grad=True)
    gc.assert_no_grad(w, "w")
    (w * 3).backward()
    with pytest.raises(AssertionError, match="detach"):
        gc.assert_no_grad(w, "w")


def test_assert_no_graph():
    w = torch.tensor(2.0, requires_grad=True)
    with torch.no_grad():
        gc.assert_no_graph(w * 3, "pred")
    with pytest.raises(AssertionError, match="no_grad"):
        gc.assert_no_graph(w * 3, "pred")


def test_assert_grad_fn_requires_the_custom_function():
    x = torch.tensor(2.0, requires_grad=True)
    gc.assert_grad_fn(Square.apply(x), Square)
    with pytest.raises(AssertionError, match=r"Square\.apply"):
        gc.assert_grad_fn(x ** 2, Square)


@pytest.mark.parametrize("fake", [b"forward", 1, None, type("S", (str,), {"__eq__": lambda s, o: True})("x")])
def test_assert_choice_accepts_only_a_plain_string_among_the_choices(fake):
    gc.assert_choice("forward", "forward", ("forward", "reverse"))
    with pytest.raises(AssertionError):
        gc.assert_choice(fake, "forward", ("forward", "reverse"))
    with pytest.raises(AssertionError):
        gc.assert_choice("reverse", "forward", ("forward", "reverse"))


def test_assert_choice_with_a_single_choice_names_it_without_one_of():
    with pytest.raises(gc.GradcoachAssertionError, match=r"should be the string 'dot', but it is '\*'") as info:
        gc.assert_choice("*", "dot", ("dot",), name="op")
    assert "one of" not in str(info.value)


class LegacySquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # the pre-2.0 form: ctx in forward, no setup_context
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_assert_grad_fn_asks_for_the_setup_context_form_by_name():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(gc.GradcoachAssertionError, match="setup_context") as info:
        gc.assert_grad_fn(LegacySquare.apply(x), LegacySquare, name="y")
    assert info.value.codes == ("function_legacy_form",)
    assert "LegacySquare" in str(info.value)
    assert gc.structure.function_form(Square) == "setup_context"
    assert gc.structure.function_form(LegacySquare) == "ctx_in_forward"
    assert gc.structure.function_form(torch.sin) is None and gc.structure.function_form(int) is None


def test_function_form_of_a_stand_in_is_what_it_carries_not_what_its_class_says():
    class StandIn:  # like the grader's Remote for a class in the student's kernel
        __name__ = "LogSigmoid"
    stand_in = StandIn()
    assert gc.structure.function_form(stand_in) is None
    stand_in.__gradcoach_form__ = "ctx_in_forward"
    assert gc.structure.function_form(stand_in) == "ctx_in_forward"

    class Claims(Square):  # a class cannot claim a form by attribute: its methods decide
        __gradcoach_form__ = "setup_context"
    assert gc.structure.function_form(Claims) == "setup_context"

    class ClaimsLegacy(LegacySquare):
        __gradcoach_form__ = "setup_context"
    assert gc.structure.function_form(ClaimsLegacy) == "ctx_in_forward"


class IgnoresGradOutput(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x  # right only when g is all ones


class SquaresGradOutput(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g ** 2  # not linear in g


def test_assert_grad_fn_calls_the_backward_with_grad_output_doubled():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    y = IgnoresGradOutput.apply(x)
    with pytest.raises(gc.GradcoachAssertionError, match="chain rule") as info:
        gc.assert_grad_fn(y, IgnoresGradOutput, name="y")
    assert info.value.codes == ("custom_backward_ignores_grad_output",)
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_grad_fn(SquaresGradOutput.apply(x), SquaresGradOutput, name="y")
    assert info.value.codes == ("custom_backward_not_linear",)
    # the probe leaves the graph usable: backward still runs afterwards, and a right backward passes
    y = Square.apply(x)
    gc.assert_grad_fn(y, Square)
    y.sum().backward()
    assert torch.equal(x.grad, 2 * x.detach())


def test_a_backward_that_scales_grad_output_in_place_is_not_called_nonlinear():
    """The probe gives each call its own grad_output: `grad_output *= s` is linear in it."""
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

    y = Scale.apply(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True))
    gc.assert_grad_fn(y, Scale, name="y")
