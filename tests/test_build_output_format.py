"""What every generated notebook looks like: header, setup cell, one language, no outputs, stable ids,
fixed metadata; the student form is nbgrader's (stubs, no hidden tests, locked cells, checksums)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

import coursebuild
from coursebuild.prose import unwrap_japanese
from gradcoach_languages import native_name

from _build import FIXTURE_LESSONS, LESSONS, ROOT

CONFIG = coursebuild.load_config()
LANGS = coursebuild.LANGUAGES
LESSON_PATHS = coursebuild.find_lessons(LESSONS) + coursebuild.find_lessons(FIXTURE_LESSONS)
CASES = [(path, form, lang) for path in LESSON_PATHS for form in coursebuild.FORMS for lang in LANGS]
_outputs: dict = {}


def generated(path, form, lang) -> dict:
    if path not in _outputs:
        _outputs[path] = coursebuild.build([path], CONFIG)
    return json.loads(_outputs[path][coursebuild.notebook_path(form, lang, path.stem)])


def case_id(case):
    path, form, lang = case
    return f"{form}/{lang}/{path.stem}"


def source(cell) -> str:
    return "".join(cell["source"])


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def case(request):
    path, form, lang = request.param
    return path, form, lang, generated(path, form, lang)


def test_notebook_is_valid_nbformat_with_fixed_metadata(case):
    *_, nb = case
    nbformat.validate(nbformat.from_dict(nb))
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    assert nb["metadata"] == {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                              "language_info": {"name": "python"}}


def test_nbgrader_accepts_the_cell_metadata(case):
    *_, nb = case
    MetadataValidatorV3().validate_nb(nbformat.from_dict(nb))


def test_no_outputs_no_execution_counts_no_source_metadata(case):
    *_, nb = case
    for cell in nb["cells"]:
        assert set(cell["metadata"]) <= {"nbgrader", "tags", "editable", "deletable"}, cell["id"]
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["id"]
    assert "jupytext" not in json.dumps(nb["metadata"])


def test_cell_ids_are_unique_valid_and_the_same_in_both_forms(case):
    path, form, lang, nb = case
    ids = [c["id"] for c in nb["cells"]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids)
    other = generated(path, "notebooks" if form == "solutions" else "solutions", lang)
    assert ids == [c["id"] for c in other["cells"]]
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid and cell["id"] != "course-setup":
            assert cell["id"] == gid


def test_header_has_title_own_colab_badge_and_the_other_languages(case):
    path, form, lang, nb = case
    lesson = coursebuild.read_lesson(path)
    header = nb["cells"][0]
    assert header["cell_type"] == "markdown"
    text = source(header)
    assert text.startswith(f"# {lesson.titles[lang]}\n")
    own = f"{form}/{lang}/{path.stem}.ipynb"
    assert f"(https://colab.research.google.com/github/{CONFIG.repository}/blob/{CONFIG.branch}/{own})" in text
    assert CONFIG.text(lang, "colab_badge") in text
    for other in LANGS:
        if other != lang:
            assert f"[{native_name(other)}](../{other}/{path.stem}.ipynb)" in text
            assert CONFIG.colab_url(f"{form}/{other}/{path.stem}.ipynb") in text


def test_setup_cell_installs_gradcoach_only_when_missing_and_sets_the_language(case):
    path, form, lang, nb = case
    cell = nb["cells"][1]
    assert cell["cell_type"] == "code" and cell["id"] == "course-setup"
    meta = cell["metadata"]["nbgrader"]
    assert (meta["locked"], meta["solution"], meta["grade"]) == (True, False, False)
    if form == "notebooks":
        assert cell["metadata"]["editable"] is False and cell["metadata"]["deletable"] is False
    text = source(cell)
    assert text.startswith(CONFIG.text(lang, "setup_comment"))
    assert 'importlib.util.find_spec("gradcoach") is None' in text
    assert 'os.environ.get("GRADCOACH_INSTALL")' in text and CONFIG.gradcoach_install in text
    pip_line = next(line for line in text.splitlines() if '"pip"' in line)
    assert '"--quiet"' in pip_line and "torch" not in pip_line
    assert "import torch\nimport gradcoach as gc\n" in text
    assert f'gc.set_language("{lang}")' in text


def test_markdown_is_only_in_the_notebooks_language(case):
    path, form, lang, nb = case
    lesson = coursebuild.read_lesson(path)
    typeset = unwrap_japanese if lang == "ja" else (lambda text: text)
    expected = [typeset(c.source) for c in lesson.cells if c.cell_type == "markdown" and c.lang == lang]
    assert [source(c) for c in nb["cells"][2:] if c["cell_type"] == "markdown"] == expected
    own_code = [c.source for c in lesson.cells if c.cell_type == "code" and c.lang == lang]
    foreign = [c.source for c in lesson.cells if c.cell_type == "code" and c.lang not in (None, lang)]
    sources = {source(c) for c in nb["cells"]}
    if form == "solutions":
        assert all(s in sources for s in own_code)
    assert not any(s in sources for s in foreign if s not in own_code)


def test_student_form_has_stubs_no_hidden_tests_locked_cells_and_checksums(case):
    path, form, lang, nb = case
    text = json.dumps(nb, ensure_ascii=False)
    graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    answers = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    if form == "solutions":
        assert all("BEGIN SOLUTION" in source(c) for c in answers)
        assert "checksum" not in text and '"editable"' not in text
        return
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    for cell in answers:
        lines = [line.strip() for line in source(cell).splitlines()]
        assert all(line in lines for line in CONFIG.text(lang, "code_stub").splitlines())  # indented
        assert cell["metadata"]["deletable"] is False
    for cell in graded:
        assert cell["metadata"]["editable"] is False and cell["metadata"]["deletable"] is False
    for cell in graded + answers:
        assert re.fullmatch(r"[0-9a-f]{32}", cell["metadata"]["nbgrader"]["checksum"])


def test_fixture_lesson_has_an_exercise_to_check():
    """The checks above are not vacuous: the fixture has an answer, a graded test and hidden tests."""
    nb = generated(FIXTURE_LESSONS / "01_cube.md", "solutions", "ja")
    kinds = [(c["metadata"].get("nbgrader", {}).get("solution"), c["metadata"].get("nbgrader", {}).get("grade"))
             for c in nb["cells"]]
    assert (True, False) in kinds and (False, True) in kinds
    assert "BEGIN HIDDEN TESTS" in json.dumps(nb)


PROBE = """
import importlib.util, json, os, subprocess, sys
real_find_spec = importlib.util.find_spec
results = []
for lang, setup in json.loads(sys.argv[1]).items():
    for state, install in (("present", None), ("missing", None), ("missing", sys.argv[2])):
        calls = []
        importlib.util.find_spec = lambda name, *a: (None if state == "missing" and name == "gradcoach"
                                                    else real_find_spec(name, *a))
        subprocess.run = lambda argv, **kw: calls.append(argv)
        os.environ.pop("GRADCOACH_INSTALL", None)
        if install:
            os.environ["GRADCOACH_INSTALL"] = install
        namespace = {}
        exec(compile(setup, "setup", "exec"), namespace)
        results.append([lang, state, install, calls, namespace["gc"].language()])
print(json.dumps(results))
"""


def test_setup_cell_runs_pip_with_gradcoach_install_only_when_gradcoach_is_missing(tmp_path):
    """Run each language's setup cell in a fresh interpreter where find_spec and subprocess.run are faked."""
    setups = {lang: source(generated(FIXTURE_LESSONS / "01_cube.md", "notebooks", lang)["cells"][1])
              for lang in LANGS}
    wheel = str(tmp_path / "gradcoach-0.1.0-py3-none-any.whl")
    env = {k: v for k, v in os.environ.items() if k not in ("GRADCOACH_INSTALL", "GRADCOACH_LANG")}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(setups), wheel], capture_output=True,
                          text=True, env=env, check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    expected = []
    for lang in LANGS:
        expected += [[lang, "present", None, [], lang],
                     [lang, "missing", None, [pip + [CONFIG.gradcoach_install]], lang],
                     [lang, "missing", wheel, [pip + [wheel]], lang]]
    assert json.loads(done.stdout.splitlines()[-1]) == expected


def test_course_yml_may_not_install_torch(tmp_path):
    config = tmp_path / "course.yml"
    config.write_text((ROOT / "lessons" / "course.yml").read_text(encoding="utf-8").replace(
        'gradcoach_install: "', 'gradcoach_install: "torch==2.0 '), encoding="utf-8")
    with pytest.raises(coursebuild.ConfigError, match="must not install torch"):
        coursebuild.load_config(config)
