"""The mutation suite (tests/mutation_cases.py): wrong answers caught and correct alternatives accepted, per lesson."""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def run() -> str:
    import _mutation
    from mutation_cases import CASES
    rows = ["| lesson | exercises | wrong answers caught | correct alternatives accepted | time |",
            "|---|---|---|---|---|"]
    for lesson in _mutation.lessons():
        start = time.perf_counter()
        nb = _mutation.load(lesson)
        caught = wrong = accepted = right = 0
        for ex in nb.exercises:
            cases = CASES.get(lesson, {}).get(ex, {})
            for code, expected in cases.get("wrong", ()):
                outcome = nb.run(ex, code)
                wrong += 1
                expected = (expected,) if isinstance(expected, str) else expected
                caught += (not outcome.passed) and all(outcome.names(e) for e in expected)
            for code in cases.get("right", ()):
                right += 1
                accepted += nb.run(ex, code).passed
        rows.append(f"| {lesson} | {len(nb.exercises)} | {caught}/{wrong} | {accepted}/{right} "
                    f"| {time.perf_counter() - start:.1f} s |")
    return "\n".join(rows)
