"""gradcoach's mistake suite (tests/diagnosis_cases.py): verdicts per lesson, and the cost of a check at 10⁶ elements."""
from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import torch
from bench_gradcoach import median_time as _median  # the same median of repeated timings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

N = 1_000_000
REPEATS = 5


def _verdicts() -> list[str]:
    from diagnosis_cases import CASES, CORRECT, verdict
    per_lesson: dict[str, Counter] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in CASES:
            per_lesson.setdefault(case.lesson, Counter())[verdict(case, case.run())] += 1
        passed = sum(fn().passed for fn in CORRECT)
    rows = ["| lesson | mistakes | right diagnosis | honest hedge | wrong (accepted or wrong cause) |",
            "|---|---:|---:|---:|---:|"]
    total = Counter()
    for lesson in sorted(per_lesson):
        c = per_lesson[lesson]
        total.update(c)
        rows.append(f"| {lesson} | {sum(c.values())} | {c['right']} | {c['hedged']} | {c['wrong']} |")
    rows.append(f"| all | {sum(total.values())} | {total['right']} | {total['hedged']} | {total['wrong']} |")
    rows.append("")
    rows.append(f"Correct answers written differently: {passed}/{len(CORRECT)} pass.")
    return rows


def _cost() -> list[str]:
    import gradcoach as gc

    def f(x):
        return (torch.sin(x) * x).sum()

    def df(x):
        return torch.cos(x) * x + torch.sin(x)

    torch.manual_seed(0)
    x = torch.randn(N, dtype=torch.float64, requires_grad=True)
    f(x).backward()
    swapped = x.grad.clone()
    swapped[[10, N - 10]] = swapped[[N - 10, 10]]
    with_analytic = _median(lambda: gc.check(x, f, df), REPEATS)
    without = _median(lambda: gc.check(x, f), REPEATS)
    fast = _median(lambda: torch.autograd.gradcheck(f, (x,), fast_mode=True), REPEATS)
    caught = not gc.check(x, f, got=swapped).passed
    return [
        "",
        f"| at {N:,} elements (float64) | median | ÷ gradcheck fast_mode |",
        "|---|---:|---:|",
        f"| gradcoach.check with an analytic answer | {with_analytic * 1e3:.1f} ms | {with_analytic / fast:.2f} |",
        f"| gradcoach.check without one (4 Gaussian probes) | {without * 1e3:.1f} ms | {without / fast:.2f} |",
        f"| torch.autograd.gradcheck(fast_mode=True) | {fast * 1e3:.1f} ms | 1 |",
        "",
        f"A swapped pair of gradient elements, no analytic answer: {'caught' if caught else 'MISSED'}.",
    ]


def _vmap_vs_loop() -> list[str]:
    """Why finite_diff evaluates the probes one by one: the same 2·DIRECTIONS evaluations, batched."""
    from gradcoach.finite_diff import DIRECTIONS

    def f(x):
        return (torch.tanh(x) ** 2 * x).sum() + torch.log1p(x * x).mean()

    rows = ["", "| elements | 2×%d probe evaluations in a loop | batched with torch.func.vmap |" % DIRECTIONS,
            "|---:|---:|---:|"]
    for n in (1_000, 100_000, N):
        x = torch.randn(n, dtype=torch.float64)
        u = torch.randn(DIRECTIONS, n, dtype=torch.float64)

        def loop(x=x, u=u):
            with torch.no_grad():
                return [f(x + 1e-5 * d) - f(x - 1e-5 * d) for d in u]

        def batched(x=x, u=u):
            with torch.no_grad():
                return torch.func.vmap(f)(torch.cat([x + 1e-5 * u, x - 1e-5 * u]))
        rows.append(f"| {n:,} | {_median(loop, REPEATS) * 1e3:.2f} ms | {_median(batched, REPEATS) * 1e3:.2f} ms |")
    return rows


def run() -> str:
    return "\n".join(_verdicts() + _cost() + _vmap_vs_loop())


if __name__ == "__main__":
    print(run())
