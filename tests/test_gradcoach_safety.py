"""gradcoach cannot be fooled: only genuine floating tensors and plain numbers are compared."""
import numpy as np
import pytest
import torch

import gradcoach as gc

square = lambda x: x ** 2
dsquare = lambda x: 2 * x


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __gt__ = __eq__

    def __float__(self):
        return 4.0

    def __bool__(self):
        return True

    def __abs__(self):
        return 0.0

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__


class SneakyFloat(float):
    def __eq__(self, other):
        return True


class LyingTensor(torch.Tensor):
    def __eq__(self, other):
        return torch.ones_like(self, dtype=torch.bool)

    def __le__(self, other):
        return torch.ones_like(self, dtype=torch.bool)


@pytest.mark.parametrize("fake", [AlwaysEqual(), SneakyFloat(1.0), np.float32(4.0).view(np.int32), "4.0", None])
def test_fake_values_never_pass_assert_close(fake):
    with pytest.raises(AssertionError):
        gc.assert_close(fake, 4.0)


def test_tensor_subclass_overriding_comparisons_never_passes():
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor(123.0, dtype=torch.float64).as_subclass(LyingTensor)
    report = gc.check(x, square, dsquare, got=fake)
    assert not report.passed and report.codes == ["not_tensor"]
    with pytest.raises(AssertionError):
        gc.assert_close(fake, 4.0)


def test_custom_eq_object_as_gradient_never_passes():
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    report = gc.check(x, square, dsquare, got=AlwaysEqual())
    assert not report.passed and report.codes == ["not_tensor"]


def test_integer_tensor_is_refused_with_a_dtype_message():
    report = gc.check(torch.tensor(2), square, dsquare)
    assert report.codes == ["not_float"]
    with pytest.raises(AssertionError, match="float"):
        gc.assert_close(torch.tensor([4]), 4.0)


def test_formula_returning_a_fake_never_passes():
    with pytest.raises(AssertionError):
        gc.assert_formula(square, lambda x: AlwaysEqual(), at=2.0)


def test_monkeypatched_torch_and_numpy_comparisons_do_not_help(monkeypatch):
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (x ** 3).backward()  # wrong: 12 instead of 4
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a: torch.tensor(True))
    monkeypatch.setattr(torch.Tensor, "numpy", lambda self: np.array(4.0))
    monkeypatch.setattr(np, "abs", lambda a: np.zeros_like(a))
    with pytest.raises(AssertionError):
        gc.assert_grad(x, square, dsquare)


def test_assert_hides_expected_values_unless_revealed():
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (x ** 2 + x).backward()  # 7, the right answer is 6 (2x)
    with pytest.raises(AssertionError) as hidden:
        gc.assert_grad(x, square, lambda x: 2 * x)
    assert "6" not in str(hidden.value).replace("x = 3", "")
    with pytest.raises(AssertionError) as shown:
        gc.assert_grad(x, square, lambda x: 2 * x, reveal=True)
    assert "6" in str(shown.value)


def test_assert_close_hides_the_expected_value():
    with pytest.raises(AssertionError) as info:
        gc.assert_close(torch.tensor(4.4), 4.5, name="out")
    assert "4.5" not in str(info.value)


def test_input_on_another_device_or_dtype_is_compared_in_float64():
    x = torch.tensor([1.0, 2.0], dtype=torch.float32, requires_grad=True)
    (x ** 2).sum().backward()
    assert gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x).passed


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_tensors_are_checked():
    x = torch.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    (x ** 2).sum().backward()
    assert gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x).passed
