"""The mistake suite (tests/diagnosis_cases.py): every mistake gets its diagnosis, or an honest hedge
where nothing more can be known, and never a wrong cause; correct answers pass silently."""
import warnings

import pytest
from diagnosis_cases import CASES, CORRECT, verdict


def run(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def test_the_suite_has_at_least_sixty_mistakes_from_every_lesson_topic():
    assert len(CASES) >= 60
    assert {c.lesson for c in CASES} >= {"00", "01", "02", "03", "04", "05", "06"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_mistake_gets_its_diagnosis_and_no_wrong_cause(case):
    result = run(case.run)
    got = verdict(case, result)
    codes = result if isinstance(result, str) or result is None else result.codes
    assert got == "right" or (got == "hedged" and case.hedge_ok), f"{case.name}: {got} ({codes})"


@pytest.mark.parametrize("fn", CORRECT, ids=[f.__name__ for f in CORRECT])
def test_a_correct_answer_written_differently_passes(fn):
    report = run(fn)
    assert report.passed, str(report)
