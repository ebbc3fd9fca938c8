"""Property tests: a correct gradient of a random smooth composition always passes; a perturbed one
always fails."""
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcoach as gc

# (forward, derivative) of smooth elementwise functions, written with the chain rule in mind
OPS = {
    "sin": (torch.sin, torch.cos),
    "cos": (torch.cos, lambda u: -torch.sin(u)),
    "tanh": (torch.tanh, lambda u: 1 - torch.tanh(u) ** 2),
    "sigmoid": (torch.sigmoid, lambda u: torch.sigmoid(u) * (1 - torch.sigmoid(u))),
    "affine": (lambda u: 0.7 * u - 0.3, lambda u: 0.7 + 0 * u),
    "log1p_sq": (lambda u: torch.log(1 + u ** 2), lambda u: 2 * u / (1 + u ** 2)),
    "half_square": (lambda u: 0.5 * u ** 2, lambda u: u),
    "exp_tanh": (lambda u: torch.exp(torch.tanh(u)), lambda u: torch.exp(torch.tanh(u)) * (1 - torch.tanh(u) ** 2)),
}

compositions = st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4)
points = st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=40)


def build(names, weights):
    def f(x):
        u = x
        for n in names:
            u = OPS[n][0](u)
        return (weights.to(u.dtype) * u).sum()

    def df(x):
        u, d = x, torch.ones_like(x)
        for n in names:
            d = d * OPS[n][1](u)
            u = OPS[n][0](u)
        return weights.to(x.dtype) * d

    return f, df


settings.register_profile("course", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")


@given(compositions, points, st.sampled_from([torch.float32, torch.float64]), st.integers(0, 2 ** 16))
def test_correct_gradient_of_a_random_composition_passes(names, xs, dtype, seed):
    weights = torch.randn(len(xs), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    f, df = build(names, weights)
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    f(x).backward()
    report = gc.check(x, f, df)
    assert report.passed, str(report)


@given(compositions, points, st.floats(0.01, 1.0), st.booleans(), st.integers(0, 2 ** 16), st.data())
def test_perturbed_gradient_of_a_random_composition_fails(names, xs, delta, negative, seed, data):
    weights = torch.randn(len(xs), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    f, df = build(names, weights)
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    f(x).backward()
    grad = x.grad.clone()
    big = (grad.abs() > 1e-3).nonzero().flatten().tolist()
    assume(big)
    i = data.draw(st.sampled_from(big))
    grad[i] *= 1 - delta if negative else 1 + delta
    report = gc.check(x, f, df, got=grad)
    assert not report.passed, str(report)
    assert f"x[{i}]" in str(report) or len(xs) == 1
