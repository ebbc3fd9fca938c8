"""The mutation suite: every exercise's test cell, as written (hidden tests included), fails
plausible wrong answers with a message naming the problem and passes correct answers written
differently from the reference. Each lesson's solutions notebook is executed once (one namespace per
notebook); each case replaces the answer cell on a copy of that namespace."""
import functools

import _mutation
import pytest
from mutation_cases import CASES, MISDIAGNOSED

LESSONS = _mutation.lessons()


@functools.lru_cache(maxsize=None)
def notebook(lesson):
    return _mutation.load(lesson)


def _cases(kind):
    for lesson, exercises in CASES.items():
        for ex, cases in exercises.items():
            for i, case in enumerate(cases[kind]):
                yield pytest.param(lesson, ex, case, id=f"{lesson}-{ex}-{kind}{i}")


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_enough_mutation_cases(lesson):
    exercises = notebook(lesson).exercises
    assert exercises, f"{lesson}: no exercises found"
    missing = []
    for ex in exercises:
        cases = CASES.get(lesson, {}).get(ex, {})
        wrong, right = len(cases.get("wrong", ())), len(cases.get("right", ()))
        if wrong < _mutation.MIN_WRONG or right < _mutation.MIN_RIGHT:
            missing.append(f"{ex}: {wrong} wrong / {right} right")
    assert not missing, (f"{lesson}: tests/mutation_cases.py needs at least {_mutation.MIN_WRONG} wrong and "
                         f"{_mutation.MIN_RIGHT} right answers per exercise: " + "; ".join(missing))
    assert set(CASES.get(lesson, {})) <= set(exercises), f"{lesson}: cases for exercises that do not exist"


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_reference_solution_passes_its_own_test(lesson):
    nb = notebook(lesson)
    for ex, (answer, _) in nb.exercises.items():
        outcome = nb.run(ex, answer)
        assert outcome.passed, f"{lesson} {ex}: {outcome.message}"


@pytest.mark.parametrize("lesson,ex,case", list(_cases("wrong")))
def test_wrong_answer_is_caught_and_named(lesson, ex, case):
    code, expected = case
    outcome = notebook(lesson).run(ex, code)
    assert not outcome.passed, f"accepted a wrong answer:\n{code}"
    expected = (expected,) if isinstance(expected, str) else expected
    assert expected, "every wrong case states what its failure must name"
    missing = [e for e in expected if not outcome.names(e)]
    assert not missing, (f"the message does not name the problem {missing} (codes {outcome.codes}):\n"
                         f"{outcome.message}")


def test_misdiagnosed_cases_exist():
    ids = {f"{lesson}-{ex}-wrong{i}" for lesson, exs in CASES.items() for ex, cases in exs.items()
           for i in range(len(cases["wrong"]))}
    assert set(MISDIAGNOSED) <= ids, set(MISDIAGNOSED) - ids


@pytest.mark.parametrize("lesson,ex,code", list(_cases("right")))
def test_correct_alternative_is_accepted(lesson, ex, code):
    outcome = notebook(lesson).run(ex, code)
    assert outcome.passed, f"rejected a correct answer:\n{code}\n{outcome.message}"
