"""Tolerances and the patterns a wrong gradient falls into.

A value ``a`` agrees with a reference ``b`` when |a − b| ≤ atol + rtol·|b| (the rule of
``torch.allclose`` and ``gradcheck``). Defaults, by the dtype the student computed in:

- float64: rtol 1e-6, atol 1e-9. Autograd and a float64 formula agree to ~1e-14; 1e-6 leaves
  room for a formula written another (equivalent) way while every real mistake — a wrong
  constant, sign or term — is off by far more.
- float32: rtol 1e-4, atol 1e-6. float32 keeps ~7 digits (ε ≈ 1.2e-7) and a dozen operations
  lose a digit or two, so 1e-4 is ~100× the rounding a correct float32 gradient shows.
- float16/bfloat16: rtol 1e-2, atol 1e-3 (ε ≈ 1e-3 and 8e-3).

atol only matters where the answer is near zero (there rtol·|b| vanishes); the report says,
for every element, which of the two terms was the larger and so decided.
"""
from __future__ import annotations

import torch

from ._safe import np  # a snapshot of NumPy's namespace, immune to later monkeypatching

DEFAULTS = {
    torch.float64: (1e-9, 1e-6),
    torch.float32: (1e-6, 1e-4),
    torch.float16: (1e-3, 1e-2),
    torch.bfloat16: (1e-3, 1e-2),
}
#: finite differences in float64 (see finite_diff): relative truncation error of the estimates
FD_RTOL = {1: 1e-5, 2: 1e-4}
#: what a float32 computation can miss by and still be "nearly right"
NEAR_ATOL, NEAR_RTOL = 1e-4, 1e-2


def tolerances(dtype, atol=None, rtol=None) -> tuple[float, float]:
    d_atol, d_rtol = DEFAULTS.get(dtype, DEFAULTS[torch.float64])
    return (d_atol if atol is None else float(atol)), (d_rtol if rtol is None else float(rtol))


def bound(b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    return atol + rtol * np.abs(b)


def close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """Elementwise agreement; NaN never agrees."""
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) <= bound(b, atol, rtol)


def common_ratio(got: np.ndarray, ref: np.ndarray, atol: float) -> float | None:
    """The constant c with got ≈ c·ref everywhere, if there is one (and ref is not all ~0)."""
    floor = max(10 * atol, 1e-12)
    big = np.abs(ref) > floor
    if not big.any():
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        ratios = got[big] / ref[big]
    if not np.isfinite(ratios).all():
        return None
    c = float(np.median(ratios))
    if not np.all(np.abs(ratios - c) <= 1e-3 * max(1.0, abs(c))):
        return None
    small = ~big
    if small.any() and not np.all(np.abs(got[small]) <= max(abs(c), 1.0) * floor * 10):
        return None
    return c


def as_integer(c: float, low: int = 2, high: int = 50) -> int | None:
    k = round(c)
    return k if low <= k <= high and abs(c - k) <= 1e-3 * k else None


def as_simple_fraction(c: float, elements: int = 2) -> str | None:
    """'1/2', '3', '-2/3'… when c is a small fraction (a likely forgotten constant), else None.

    With a single element any wrong value is *some* multiple of the right one, so only the
    simplest factors (denominator ≤ 2, numerator ≤ 10) count as evidence there.
    """
    max_q, max_p = (12, 100) if elements > 1 else (2, 10)
    for q in range(1, max_q + 1):
        p = round(c * q)
        if p != 0 and abs(p) <= max_p and abs(c * q - p) <= 1e-6 * abs(c * q):
            return f"{p}" if q == 1 else f"{p}/{q}"
    return None


def sign_or_factor(ratio: float | None, elements: int) -> tuple[str, str | None] | None:
    """What a ratio of got to expected common to every element names: ``("sign", None)`` for −1,
    ``("factor", "3/2")`` for another simple fraction than 1, else None. With one element any wrong
    value is *some* multiple of the right one: callers claim either only on evidence from elsewhere."""
    if ratio is None:
        return None
    if abs(ratio + 1) <= 1e-3:
        return "sign", None
    frac = as_simple_fraction(ratio, elements)
    return ("factor", frac) if frac and abs(ratio - 1) > 1e-3 else None
