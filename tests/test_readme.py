"""README.md, README.ja.md and README.ko.md: every lesson with its title and three Colab links that
match course.yml and the built notebooks, the places the benchmark tables and the gradcoach
example go, the screenshot, and the glossary's terms."""
import re
from pathlib import Path

import pytest
import yaml

from coursebuild import load_config, notebook_path

from _glossary import find_banned
from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]

READMES = {"en": "README.md", "ja": "README.ja.md", "ko": "README.ko.md"}
SCREENSHOT = ROOT / "docs" / "img" / "lesson.png"


def lessons():
    for path in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.md")):
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("---", 2)[1])
        yield path.stem, front["course"]["title"]


def table_rows(text):
    """The lesson table's rows by lesson number; benchmark tables (whose first column may be a
    two-digit worker count) are left out."""
    text = load_tool("bench").strip_blocks(text)
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| (\d\d) \|.*$", text, re.M)}


@pytest.mark.parametrize("lang", READMES)
def test_readme_lists_every_lesson_with_three_working_colab_links(lang):
    config = load_config()
    rows = table_rows((ROOT / READMES[lang]).read_text(encoding="utf-8"))
    expected = list(lessons())
    assert sorted(rows) == [stem[:2] for stem, _ in expected], "one table row per lesson, no more"
    for stem, titles in expected:
        row = rows[stem[:2]]
        assert f"| {titles[lang]} |" in row, f"{READMES[lang]}: lesson {stem} should be titled {titles[lang]!r}"
        for badge_lang in READMES:
            path = notebook_path("notebooks", badge_lang, stem)
            assert f"]({config.colab_url(path)})" in row, f"{READMES[lang]}: no Colab link to {path}"
            assert (ROOT / path).exists(), f"{path} is linked from {READMES[lang]} but missing: run `make notebooks`"


@pytest.mark.parametrize("lang", READMES)
def test_readme_has_the_places_for_the_example_and_the_benchmarks(lang):
    """One gradcoach example, and one table for each benchmark section (tools/bench_<name>.py)."""
    text = (ROOT / READMES[lang]).read_text(encoding="utf-8")
    assert text.count("<!-- gradcoach-example -->") == 1, f"{READMES[lang]}: the gradcoach example's place"
    bench = load_tool("bench")
    blocks = bench.readme_blocks(text)
    for name in bench.sections():
        assert len(blocks.get(name, ())) == 1, f"{READMES[lang]}: one <!-- bench:{name} --> table"
        assert blocks[name][0].strip(), f"{READMES[lang]}: the {name} table is empty: run `make bench`"
    assert set(blocks) <= set(bench.sections()), f"{READMES[lang]}: a table for no benchmark"


@pytest.mark.parametrize("lang", READMES)
def test_readmes_link_each_other_the_screenshot_and_the_two_commands(lang):
    text = (ROOT / READMES[lang]).read_text(encoding="utf-8")
    for other, name in READMES.items():
        if other != lang:
            assert f"]({name})" in text
    assert "](docs/img/lesson.png)" in text
    assert "make lab" in text and "make test" in text


def test_screenshot_is_a_small_png():
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 300_000, "keep the README's screenshot commit-sized"


@pytest.mark.parametrize("lang", ["ja", "ko"])
def test_readme_uses_the_glossary_terms(lang):
    assert not find_banned((ROOT / READMES[lang]).read_text(encoding="utf-8"), lang)


def test_the_grading_readme_shows_formgrader_with_a_small_png():
    text = (ROOT / "autograde" / "README.md").read_text(encoding="utf-8")
    assert "](../docs/img/formgrader.png)" in text and "make lab COURSE=" in text
    data = (ROOT / "docs" / "img" / "formgrader.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000


def test_the_grading_readme_shows_the_class_report_with_a_small_png():
    text = (ROOT / "autograde" / "README.md").read_text(encoding="utf-8")
    assert "](../docs/img/class_report.png)" in text and "build/screenshots/class_report_ja.png" in text
    data = (ROOT / "docs" / "img" / "class_report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000


@pytest.mark.parametrize("lang", READMES)
def test_readme_mutation_table_matches_the_cases(lang):
    """The table counts what tests/test_exercise_mutations.py enforces (every wrong case caught, every
    correct one accepted), so it is checked against the cases, not re-run here."""
    text = (ROOT / READMES[lang]).read_text(encoding="utf-8")
    blocks = load_tool("bench").readme_blocks(text).get("mutations")
    assert blocks, f"{READMES[lang]}: no mutation table"
    rows = "\n".join(line for line in blocks[0].splitlines() if line.startswith("|"))
    bench = load_tool("bench_mutations")
    assert rows == bench.table(bench.expected_rows()), (f"{READMES[lang]}: the mutation table is stale: run "
                                            "`make bench BENCH_ARGS='--only mutations --readme'`")


@pytest.mark.parametrize("lang", READMES)
def test_readme_mistake_example_prints_what_the_readme_quotes(lang):
    import contextlib
    import io

    import gradcoach as gc
    text = (ROOT / READMES[lang]).read_text(encoding="utf-8")
    after = text.split("<!-- gradcoach-mistake -->", 1)[1]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    quoted = after.split("```", 2)[2].lstrip().split("\n", 1)[0]
    assert quoted.startswith("> ")
    gc.set_language(lang)
    try:
        namespace = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code.replace("gc.check(", "report = gc.check("), namespace)
    finally:
        gc.set_language("en")
    assert namespace["report"].messages[0] == quoted[2:]
