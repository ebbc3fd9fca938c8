"""The worked examples of the seed notebooks (../shared/seeds/) pass gradcoach's checks."""
import math

import pytest
import torch

import gradcoach as gc

SEED000 = [
    # (function, analytic derivative, point) — all eight examples of seed 000
    (lambda x: 2 * x, lambda x: 2.0 + 0 * x, 5.0),
    (lambda x: x ** 2, lambda x: 2 * x, 7.0),
    (lambda x: torch.exp(x), lambda x: torch.exp(x), 3.0),
    (lambda x: -1 / x, lambda x: 1 / x ** 2, 2.0),
    (lambda x: (x ** 3) ** (-4), lambda x: -12 * x ** (-13), 2.0),
    (lambda x: torch.sqrt(2 * x + 3), lambda x: 1 / torch.sqrt(2 * x + 3), 2.0),
    (lambda x: torch.log(2 * x ** 2 - 3 * x + 2), lambda x: (4 * x - 3) / (2 * x ** 2 - 3 * x + 2), 2.0),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("f, df, x0", SEED000)
def test_seed000_single_variable_derivatives_pass(f, df, x0, dtype):
    x = torch.tensor(x0, dtype=dtype, requires_grad=True)
    f(x).backward()
    report = gc.check(x, f, df)
    assert report.passed, str(report)


def test_seed000_two_variable_partials_pass():
    x = torch.tensor(7.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    f = lambda x, y: x ** 2 + y ** 3
    f(x, y).backward()
    report = gc.check((x, y), f, (lambda x, y: 2 * x, lambda x, y: 3 * y ** 2))
    assert report.passed, str(report)
    assert [float(b.got) for b in report.blocks] == [14.0, 27.0]


def test_seed000_log_example_with_wrong_denominator_is_a_wrong_formula():
    f = lambda x: torch.log(2 * x ** 2 - 3 * x + 2)
    wrong = lambda x: (4 * x - 3) / (2 * x ** 2 - 3 + 2)  # the seed's typo: −3 instead of −3x
    report = gc.check_formula(f, wrong, at=2.0)
    assert not report.passed
    assert report.codes == ["formula_wrong"]
    text = str(report)
    assert "x = 2" in text and "0.714286" in text and "1.25" in text


def test_seed000_log_wrong_formula_against_student_grad_is_reported_as_formula_error():
    f = lambda x: torch.log(2 * x ** 2 - 3 * x + 2)
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    f(x).backward()
    report = gc.check(x, f, lambda x: (4 * x - 3) / (2 * x ** 2 - 3 + 2))
    assert report.codes == ["formula_wrong"]


def calc(a):
    b = a * 2 + 1
    c = b * b
    d = c / (c + 2)
    return d.mean()


def test_seed002_calc_matches_finite_differences_and_the_chain_rule():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    calc(x).backward()
    # de/da = (1/3)·2/(c+2)²·2b·2 = 8b / (3(c+2)²)
    chain = lambda a: 8 * (2 * a + 1) / (3 * ((2 * a + 1) ** 2 + 2) ** 2)
    report = gc.check(x, calc, chain)
    assert report.passed, str(report)
    assert x.grad[0].item() == pytest.approx(0.06611569, rel=1e-6)


def test_seed002_forward_difference_in_float32_is_a_near_miss():
    # The seed's own check: forward differences with δ = 0.001 in float32 agree to ~3 digits.
    delta, base = 0.001, torch.tensor([1.0, 2.0, 3.0])
    y = calc(base).item()
    estimate = []
    for i in range(3):
        bumped = base.clone()
        bumped[i] += delta
        estimate.append((calc(bumped).item() - y) / delta)
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    report = gc.check(x, calc, got=torch.tensor(estimate))
    assert report.codes == ["float32_near"]


def test_seed001_003_mean_of_3y_squared_gives_4_5():
    x = torch.ones(2, 2, requires_grad=True)
    f = lambda x: (3 * (x + 2) ** 2).mean()
    assert f(x).item() == 27.0  # 3(1+2)² = 27, not 18
    f(x).backward()
    report = gc.check(x, f, lambda x: 1.5 * (x + 2))
    assert report.passed, str(report)
    assert torch.equal(x.grad, torch.full((2, 2), 4.5))


def test_seed000_doubling_loop_gives_v_times_two_to_the_k():
    torch.manual_seed(0)
    x = torch.randn(3, requires_grad=True)
    y, k = x * 2, 1
    while y.detach().norm() < 1000:
        y, k = y * 2, k + 1
    v = torch.tensor([0.1, 1.0, 0.0001])
    y.backward(v)
    report = gc.check(x, lambda x: x * 2 ** k, lambda x: v.double() * 2 ** k, v=v)
    assert report.passed, str(report)
    assert k == 9 and torch.allclose(x.grad, torch.tensor([51.2, 512.0, 0.0512]))


def test_seed004_second_derivatives_of_x_plus_5w_squared():
    f = lambda x, w: (x + 5 * w) ** 2
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    fx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)
    assert (fx.item(), fw.item()) == (34.0, 170.0)
    fx.backward(retain_graph=True)
    assert gc.check_second((x, w), f, (2.0, 10.0), first=x).passed  # fxx, fxw
    x.grad = w.grad = None
    fw.backward()
    report = gc.check_second((x, w), f, (10.0, 50.0), first=w)  # fwx, fww
    assert report.passed, str(report)


def test_seed004_first_derivatives_at_2_3():
    f = lambda x, w: (x + 5 * w) ** 2
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    f(x, w).backward()
    report = gc.check((x, w), f, (lambda x, w: 2 * (x + 5 * w), lambda x, w: 10 * (x + 5 * w)))
    assert report.passed and math.isclose(w.grad.item(), 170.0)
