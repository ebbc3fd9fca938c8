"""Every generated notebook runs top to bottom in a fresh kernel (60 s per cell):

- solutions: no errors, every graded test passes, every display formula's label was checked by gradcoach;
- student form: only the test cells of stubbed exercises fail, with gradcoach's localized "not answered yet".

Each notebook runs once per session (two at a time); results are cached in .pytest_cache, keyed by the
notebook's bytes, gradcoach's code and the locked environment (`pytest --cache-clear` runs them again).
"""
from __future__ import annotations

import hashlib
import json
import platform
import string
from pathlib import Path

import pytest

import coursebuild
from coursebuild.execute import Executed, run_many

from _build import FIXTURE_LESSONS, LESSONS, ROOT

pytestmark = pytest.mark.slow
LANGS = coursebuild.LANGUAGES
LESSON_STEMS = [p.stem for p in coursebuild.find_lessons(LESSONS)]
FIXTURE_STEMS = [p.stem for p in coursebuild.find_lessons(FIXTURE_LESSONS)]
# (where, stem, lang): "repo" notebooks are the committed ones, "fixture" ones are built for this test.
CASES = [("repo", stem, lang) for stem in LESSON_STEMS for lang in LANGS] + \
        [("fixture", stem, lang) for stem in FIXTURE_STEMS for lang in LANGS]
CACHE_VERSION = "1"


def case_id(case):
    where, stem, lang = case
    return f"{lang}/{stem}" + ("[fixture]" if where == "fixture" else "")


def _environment_key() -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for path in sorted((ROOT / "gradcoach").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    digest.update((ROOT / "requirements.lock").read_bytes() + platform.python_version().encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def executed(request, tmp_path_factory) -> dict:
    """``{(where, form, stem, lang): Executed}`` for every notebook of every case."""
    built = tmp_path_factory.mktemp("fixture-notebooks")
    coursebuild.write(coursebuild.build(coursebuild.find_lessons(FIXTURE_LESSONS), coursebuild.load_config()),
                      built, prune=False)
    base = {"repo": ROOT, "fixture": built}
    env_key = _environment_key()
    cache_dir = Path(request.config.cache.mkdir("notebook-runs"))
    results, jobs, keys = {}, [], []
    for where, stem, lang in CASES:
        for form in coursebuild.FORMS:
            path = base[where] / coursebuild.notebook_path(form, lang, stem)
            if not path.exists():
                results[where, form, stem, lang] = Executed(str(path), None, failure="not built: run `make notebooks`")
                continue
            key = hashlib.sha256(env_key.encode() + form.encode() + path.read_bytes()).hexdigest()
            cached = cache_dir / f"{key}.json"
            if cached.exists():
                results[where, form, stem, lang] = Executed(**json.loads(cached.read_text(encoding="utf-8")))
            else:
                jobs.append((str(path), form == "solutions"))
                keys.append(((where, form, stem, lang), cached))
    for (result_key, cached), result in zip(keys, run_many(jobs, workers=2), strict=True):
        results[result_key] = result
        if result.failure is None:
            cached.write_text(json.dumps(result.__dict__, ensure_ascii=False), encoding="utf-8")
    return results


def source(cell) -> str:
    return "".join(cell["source"])


def errors(nb) -> list:
    """(cell, error output) for each cell that raised, except cells tagged raises-exception."""
    return [(cell, out) for cell in nb["cells"] if cell["cell_type"] == "code"
            and "raises-exception" not in cell["metadata"].get("tags", [])
            for out in cell.get("outputs", []) if out["output_type"] == "error"]


def describe(cell, out) -> str:
    first = next((ln for ln in source(cell).splitlines() if ln.strip()), "")
    return f"cell {cell['id']} ({first!r}): {out['ename']}: {out['evalue'][:400]}"


def run_of(executed, case, form) -> dict:
    where, stem, lang = case
    result = executed[where, form, stem, lang]
    assert result.failure is None, f"{result.path}: {result.failure}"
    return result


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_solutions_notebook_runs_without_errors_and_passes_its_tests(executed, case):
    nb = run_of(executed, case, "solutions").notebook
    problems = [describe(cell, out) for cell, out in errors(nb)]
    assert not problems, "\n".join(problems)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] is not None for c in code), "some cells did not run"
    graded = [c for c in code if c["metadata"].get("nbgrader", {}).get("grade")]
    assert all(not any(o["output_type"] == "error" for o in c["outputs"]) for c in graded)


def not_answered_pieces(lang: str) -> list:
    """The fixed text of gradcoach's "not answered yet" message in ``lang`` (around its {fields})."""
    catalogue = json.loads((ROOT / "gradcoach" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
    template = catalogue["not_answered"]
    return [literal.strip() for literal, *_ in string.Formatter().parse(template) if literal.strip()]


def stubbed_tests(nb) -> set:
    """ids of the graded test cells that come after an answer cell (the student form stubs every answer)."""
    found, after_answer = set(), False
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            after_answer = True
        elif meta.get("grade") and after_answer:
            found.add(cell["id"])
    return found


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_student_notebook_fails_only_in_tests_of_unanswered_exercises(executed, case):
    lang = case[2]
    nb = run_of(executed, case, "notebooks").notebook
    expected = stubbed_tests(nb)
    failed = {cell["id"]: out for cell, out in errors(nb)}
    unexpected = [describe(cell, out) for cell, out in errors(nb) if cell["id"] not in expected]
    assert not unexpected, "cells that should run in the student form failed:\n" + "\n".join(unexpected)
    silent = sorted(expected - set(failed))
    assert not silent, f"test cells that pass without an answer (they test nothing): {silent}"
    pieces = not_answered_pieces(lang)
    for cid in expected:
        out = failed[cid]
        assert out["ename"] != "NotImplementedError", f"{cid}: a bare NotImplementedError reached the student"
        assert all(piece in out["evalue"] for piece in pieces), \
            f"{cid}: expected gradcoach's {lang} 'not answered' message, got {out['ename']}: {out['evalue']}"
        assert not any("During handling of the above exception" in line for line in out["traceback"]), cid


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_every_display_formula_is_checked_when_the_solutions_run(executed, case):
    result = run_of(executed, case, "solutions")
    formulas = [f for cell in result.notebook["cells"] if cell["cell_type"] == "markdown"
                for f in coursebuild.display_formulas(source(cell))]
    unlabelled = [f.tex for f in formulas if f.label is None]
    assert not unlabelled, f"formulas without <!-- check: label -->: {unlabelled}"
    unchecked = sorted({f.label for f in formulas} - set(result.labels))
    assert not unchecked, (f"no passing gradcoach check recorded these labels: {unchecked} "
                           f"(checked: {sorted(result.labels)})")


@pytest.mark.parametrize("lang", LANGS)
def test_a_student_whose_answers_pass_sees_the_green_line_under_every_test(lang, tmp_path):
    """Lesson 00's student form with the reference answers filled in: each test cell ends with
    gc.passed() in the notebook's language (the checks before it raise only on failure)."""
    from coursebuild.execute import run_notebook

    stem = LESSON_STEMS[0]
    student = json.loads((ROOT / coursebuild.notebook_path("notebooks", lang, stem)).read_text(encoding="utf-8"))
    solutions = json.loads((ROOT / coursebuild.notebook_path("solutions", lang, stem)).read_text(encoding="utf-8"))
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in solutions["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    for cell in student["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
    path = tmp_path / f"{stem}.ipynb"
    path.write_text(json.dumps(student), encoding="utf-8")
    nb = run_notebook(str(path)).notebook
    assert nb is not None and not errors(nb), [describe(c, o) for c, o in errors(nb or {"cells": []})]
    catalogue = json.loads((ROOT / "gradcoach" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
    tests = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    shown = ["".join(o.get("data", {}).get("text/plain", "")) for c in tests for o in c["outputs"]
             if o["output_type"] == "execute_result"]
    assert tests and shown == ["✔ " + catalogue["tests_passed"]] * len(tests)
