"""The mutation suite (tests/mutation_cases.py): wrong answers caught and correct alternatives accepted, per lesson."""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

HEADER = ("| lesson | exercises | wrong answers caught | of which the message names another problem "
          "| correct alternatives accepted |\n|---|---:|---:|---:|---:|")


def table(rows) -> str:
    """rows: (lesson, exercises, caught, wrong, accepted, right) per lesson; the misdiagnosed count
    comes from mutation_cases.MISDIAGNOSED."""
    from mutation_cases import MISDIAGNOSED
    body = [f"| {lesson} | {n} | {caught}/{wrong} | {sum(k.startswith(lesson + '-') for k in MISDIAGNOSED)} "
            f"| {accepted}/{right} |" for lesson, n, caught, wrong, accepted, right in rows]
    return "\n".join([HEADER, *body])


def expected_rows():
    """The rows when the suite passes (tests/test_exercise_mutations.py), counted from the cases alone."""
    from mutation_cases import CASES
    for lesson, exercises in sorted(CASES.items()):
        wrong = sum(len(c["wrong"]) for c in exercises.values())
        right = sum(len(c["right"]) for c in exercises.values())
        yield lesson, len(exercises), wrong, wrong, right, right


def run() -> str:
    import _mutation
    from mutation_cases import CASES
    rows, start = [], time.perf_counter()
    for lesson in _mutation.lessons():
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
        rows.append((lesson, len(nb.exercises), caught, wrong, accepted, right))
    return table(rows) + f"\n\nEach case runs the exercise's test cell as written, hidden tests included " \
                         f"(`tests/test_exercise_mutations.py`); all lessons: {time.perf_counter() - start:.1f} s."
