"""Central finite differences in float64, the independent witness of every check.

Step sizes: a central difference has truncation error ~h²·|f'''|/6 and round-off error
~ε·|f|/h (ε = 2.2e-16 in float64); the sum is smallest near h = ε^(1/3) ≈ 6e-6, scaled by
max(1, |x|) so that x + h differs from x in enough digits. A second difference has
truncation ~h² and round-off ~ε·|f|/h², smallest near h = ε^(1/4) ≈ 1.2e-4.

Small inputs (≤ ``ELEMENTWISE_MAX`` elements in all) are perturbed one element at a time, so a
report can point at the wrong element; larger ones along ``DIRECTIONS`` random Gaussian
directions u with a fixed seed, so the cost stays at 2·DIRECTIONS function evaluations whatever
the size (the idea of ``torch.autograd.gradcheck(fast_mode=True)``).

Why Gaussian and how many: for an error δ (student's gradient − true gradient), uᵀδ is normal
with standard deviation ‖δ‖₂ whatever δ's pattern, so a swapped pair (δᵢ = −δⱼ) or one wrong
element cannot cancel out, as it does with probability ½ in a ±1 (Rademacher) probe. A probe
misses δ only if |uᵀδ| stays within the tolerance τ of the comparison (see
``check._directional``), with probability ≤ √(2/π)·τ/‖δ‖₂; all four miss with probability
≤ (0.8·τ/‖δ‖₂)⁴, below 10⁻⁶ as soon as ‖δ‖₂ ≥ 25·τ (τ including the round-off of the
smallest step tried: a failed probe is repeated with smaller steps, in case a kink of relu or abs
lies within one step of some element). The probes are drawn in float32 (several
times faster than float64 for a million elements) and used in float64 on both sides of every
comparison, so they are exact directions.

The evaluations run one after another, not batched with ``torch.func.vmap``: measured here
(``make bench``, section diagnoses), vmap over the 2·DIRECTIONS perturbed copies was 1.4–1.6×
slower from 10³ to 10⁶ elements (the work is memory-bound, and the batch multiplies the memory
traffic), and below that the whole check takes well under a millisecond anyway.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ._safe import (
    np,  # a snapshot of NumPy's namespace, immune to later monkeypatching
    tensor_to_f64,
)

EPS = float(np.finfo(np.float64).eps)
STEP1 = EPS ** (1 / 3)
STEP2 = EPS ** (1 / 4)
ELEMENTWISE_MAX = 16
DIRECTIONS = 4
SEED = 20240607


def finite_difference(f, x, h: float | None = None, *, central: bool = True):
    """The finite difference taught in lesson 01: (f(x+h) − f(x−h)) / 2h, in float64.

    ``f`` maps a tensor to a scalar tensor; ``x`` is a number or tensor. Returns a float64
    tensor shaped like ``x`` (one partial derivative per element). ``central=False`` gives the
    forward difference (f(x+h) − f(x)) / h, to compare the two.
    """
    from .evaluate import usage_error  # evaluate imports torch machinery this module does not need
    if not callable(f):
        raise usage_error("usage_not_callable", name="f", kind=type(f).__name__)
    if h is not None and not (type(h) in (int, float) and h > 0 and h == h and h != float("inf")):
        raise usage_error("usage_step", value=repr(h))
    try:
        x64 = torch.as_tensor(x, dtype=torch.float64).detach().clone()
    except (TypeError, ValueError, RuntimeError):
        raise usage_error("usage_point", kind=type(x).__name__) from None
    out = torch.empty_like(x64)
    flat, res = x64.view(-1), out.view(-1)
    with torch.no_grad():
        f0 = None if central else float(f(x64).sum())
        for i in range(flat.numel()):
            xi = float(flat[i])
            step = h if h is not None else (STEP1 if central else EPS ** 0.5) * max(1.0, abs(xi))
            flat[i] = xi + step
            up = float(f(x64).sum())
            if central:
                flat[i] = xi - step
                down = float(f(x64).sum())
                res[i] = (up - down) / (2 * step)
            else:
                res[i] = (up - f0) / step
            flat[i] = xi
    return out


@dataclass
class FDResult:
    """Finite-difference estimate for each input: elementwise arrays, or directional sums."""

    elementwise: bool
    values: list[np.ndarray] | None  # per input, shaped like it (elementwise mode)
    directions: list[list[np.ndarray]] | None  # [direction][input] (directional mode)
    estimates: list[float] | None  # FD of each direction
    roundoff: float  # absolute round-off scale of the estimates
    evaluations: int
    #: (direction k, factor) → (estimate with the step divided by factor, its round-off); first
    #: order only: tells a kink within one step of some element from a real disagreement
    refine: object = None
    #: (uᵀ·gradient, estimate) per direction, filled by the comparison (directional mode)
    projections: list = field(default_factory=list)
    shown: int = 0  # the direction the report shows (the one that agrees least)


class _Evaluator:
    """Evaluates the weighted scalar s(x) = Σ v·f(x) on float64 copies of the inputs."""

    def __init__(self, f, v: np.ndarray | None):
        self.f, self.v, self.count, self.max_abs = f, v, 0, 0.0

    def __call__(self, perturbed: list[torch.Tensor]) -> float:
        self.count += 1
        with torch.no_grad():
            out = self.f(*perturbed)
        arr = np.float64(out) if type(out) is float else tensor_to_f64(out)
        value = float(np.sum(arr if self.v is None else arr * self.v.reshape(arr.shape)))
        self.max_abs = max(self.max_abs, abs(value))
        return value


def _gaussian(shape, gen: torch.Generator) -> torch.Tensor:
    """A standard normal direction, drawn in float32 (fast) and kept in float64."""
    return torch.randn(shape, generator=gen, dtype=torch.float32).to(torch.float64)


def probe_directions(bases: list[torch.Tensor], count: int = DIRECTIONS) -> list[list[torch.Tensor]]:
    """``count`` seeded Gaussian directions, one tensor per input (the same for every check)."""
    gen = torch.Generator().manual_seed(SEED)
    return [[_gaussian(b.shape, gen) for b in bases] for _ in range(count)]


def _steps(base: torch.Tensor, h0: float) -> torch.Tensor:
    return h0 * torch.clamp(base.abs(), min=1.0)


def _per_element(bases: list[torch.Tensor], h0: float, estimate) -> list[np.ndarray]:
    """``estimate(k, i, step)`` for element i of every input k, shaped like the inputs."""
    values = []
    for k, base in enumerate(bases):
        steps = _steps(base, h0).reshape(-1)
        flat = np.array([estimate(k, i, float(steps[i])) for i in range(base.numel())], dtype=np.float64)
        values.append(flat.reshape(tuple(base.shape)))
    return values


def first_order(f, bases: list[torch.Tensor], v: np.ndarray | None, directions: int = DIRECTIONS) -> FDResult:
    """∂(vᵀf)/∂input for every input (float64 ``bases``); large inputs along ``directions`` probes."""
    ev = _Evaluator(f, v)
    total = sum(b.numel() for b in bases)
    if total <= ELEMENTWISE_MAX:
        def central(k: int, i: int, step: float) -> float:
            up = [b.clone() for b in bases]
            down = [b.clone() for b in bases]
            up[k].view(-1)[i] += step
            down[k].view(-1)[i] -= step
            width = float(up[k].view(-1)[i] - down[k].view(-1)[i])  # exact representable 2h
            return (ev(up) - ev(down)) / width

        values = _per_element(bases, STEP1, central)
        roundoff = EPS * max(ev.max_abs, 1e-300) / STEP1
        return FDResult(True, values, None, None, roundoff, ev.count)
    dirs, estimates = [], []
    scale = max(1.0, max(float(b.abs().max()) if b.numel() else 0.0 for b in bases))
    h = STEP1 * scale
    for u in probe_directions(bases, directions):
        estimates.append(directional_estimate(ev, bases, u, h))
        dirs.append([ui.numpy() for ui in u])
    roundoff = EPS * max(ev.max_abs, 1e-300) / h
    return FDResult(False, None, dirs, estimates, roundoff, ev.count, refine=lambda k, factor: (
        directional_estimate(ev, bases, [torch.from_numpy(x) for x in dirs[k]], h / factor),
        EPS * max(ev.max_abs, 1e-300) * factor / h))


def directional_estimate(ev, bases, u, h: float) -> float:
    """Central difference of the weighted scalar along u with step h."""
    up = [b + h * ui for b, ui in zip(bases, u, strict=True)]
    down = [b - h * ui for b, ui in zip(bases, u, strict=True)]
    return (ev(up) - ev(down)) / (2 * h)


def second_order(f, bases: list[torch.Tensor], first: int, w: np.ndarray) -> FDResult:
    """Σᵢ wᵢ ∂²f/∂first_i∂input for every input (f scalar): the gradient of (w·∂f/∂first).

    Mixed central second difference with the ``first`` block perturbed along w and the target
    along a unit vector: [f(++) − f(+−) − f(−+) + f(−−)] / 4ab.
    """
    ev = _Evaluator(f, None)
    wt = torch.from_numpy(np.asarray(w, dtype=np.float64).reshape(tuple(bases[first].shape)))
    wnorm = float(wt.abs().max()) or 1.0
    a = STEP2 * max(1.0, float(bases[first].abs().max())) / wnorm

    def corners(target: list[torch.Tensor]):
        total = 0.0
        for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
            pts = [b.clone() for b in bases]
            pts[first] = pts[first] + sa * a * wt
            pts = [p + sb * t for p, t in zip(pts, target, strict=True)]
            total += sign * ev(pts)
        return total

    total_el = sum(b.numel() for b in bases)
    if total_el <= ELEMENTWISE_MAX:
        def mixed(k: int, i: int, step: float) -> float:
            target = [torch.zeros_like(b) for b in bases]
            target[k].view(-1)[i] = step
            return corners(target) / (4 * a * step)

        values = _per_element(bases, STEP2, mixed)
        roundoff = 4 * EPS * max(ev.max_abs, 1e-300) / (a * STEP2)
        return FDResult(True, values, None, None, roundoff, ev.count)
    b_step = STEP2 * max(1.0, max(float(b.abs().max()) for b in bases))
    dirs, estimates = [], []
    for u in probe_directions(bases):
        estimates.append(corners([b_step * ui for ui in u]) / (4 * a * b_step))
        dirs.append([ui.numpy() for ui in u])
    roundoff = 4 * EPS * max(ev.max_abs, 1e-300) / (a * b_step)
    return FDResult(False, None, dirs, estimates, roundoff, ev.count)
