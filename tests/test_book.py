"""The course website (`make book`, tools/build_book.py): its pages, its build and the built site.

The first tests look at the pages the build writes (no execution). The slow ones build the whole
site into build/ once per session, as `make book` does (the execution cache in build/book-cache/
makes a second build, or `make book` after the tests, execute nothing), then check it offline:
every page named after its lesson, the links and images, the cache, a failing cell. The browser
ones are in tests/test_book_browser.py.
"""
from __future__ import annotations

import html.parser
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

import coursebuild
from coursebuild.book import STUDENT_DIR, book_page, load_book_config
from coursebuild.book_search import PARTICLES, SearchKorean, strip_particle
from coursebuild.compose import compose
from coursebuild.config import ConfigError
from coursebuild.lesson import HIDDEN_MARKERS, SOLUTION_MARKERS

from _book import BOOK_TOOL, build_book, built_site, lesson_stems
from _build import FIXTURE_LESSONS, LESSONS, ROOT

CONFIG = coursebuild.load_config()
BOOK = load_book_config()
LANGS = coursebuild.LANGUAGES


def page_of(path: Path, lang: str):
    lesson = coursebuild.read_lesson(path)
    source = compose(lesson, lang, "solutions", CONFIG)
    return lesson, source, book_page(source, lesson.titles[lang], lesson.stem, lang, CONFIG, BOOK)


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_shows_the_tests_but_not_the_hidden_tests(lang):
    lesson, source, page = page_of(FIXTURE_LESSONS / "01_cube.md", lang)
    assert any(HIDDEN_MARKERS[0] in c.source for c in source.cells), "the fixture lesson has a hidden test"
    test_ids = [c.id for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
                and not c.metadata["nbgrader"].get("solution")]
    shown = {c.id: c for c in page.cells}
    assert test_ids and all(cid in shown for cid in test_ids)
    for cell in page.cells:
        assert not any(marker in cell.source for marker in HIDDEN_MARKERS), cell.source
    visible = shown[test_ids[0]].source
    assert "gc.assert_grad(x, lambda x: x ** 3" in visible and "for x0 in" not in visible


@pytest.mark.parametrize("lang", LANGS)
def test_a_reference_solution_is_folded_behind_a_toggle_in_the_page_language(lang):
    _lesson, _source, page = page_of(FIXTURE_LESSONS / "01_cube.md", lang)
    answers = [c for c in page.cells if SOLUTION_MARKERS[0] in c.source]
    assert answers
    for cell in answers:
        assert "hide-input" in cell.metadata["tags"]
        assert cell.metadata["mystnb"]["code_prompt_show"] == BOOK.text(lang, "show_solution")
        assert "raise NotImplementedError" not in cell.source  # the solution itself, not the stub


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_header_has_the_colab_badge_and_the_student_notebook_download(lang):
    lesson, _source, page = page_of(LESSONS / "01_scalar_derivatives.md", lang)
    header = page.cells[0].source
    assert header.startswith(f"# {lesson.titles[lang]}\n")
    colab = CONFIG.colab_url(coursebuild.notebook_path("notebooks", lang, lesson.stem))
    assert f'href="{colab}"' in header and CONFIG.text(lang, "colab_badge") in header
    assert f'href="{STUDENT_DIR}/{lesson.stem}.ipynb" download' in header


def test_book_config_refuses_a_url_without_https_naming_the_key(tmp_path):
    data = yaml.safe_load((ROOT / "lessons" / "course.yml").read_text(encoding="utf-8"))
    data["book"]["url"] = "autograd-course.github.io"
    bad = tmp_path / "course.yml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="book.url"):
        load_book_config(bad)
    del data["book"]["languages"]["ko"]["show_solution"]
    data["book"]["url"] = "https://example.org/course/"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="book.languages.ko.show_solution"):
        load_book_config(bad)


@pytest.mark.parametrize("word, stem", [("기울기를", "기울기"), ("미분은", "미분"), ("그래프에서", "그래프"),
                                        ("텐서", "텐서"), ("를", "를"), ("Backward", "backward")])
def test_korean_search_indexes_a_word_without_its_particle(word, stem):
    assert SearchKorean({}).stem(word) == stem == strip_particle(word.lower())


def test_korean_search_strips_the_same_particles_in_the_browser():
    assert json.dumps(PARTICLES, ensure_ascii=False) in SearchKorean.js_stemmer_code


@pytest.mark.parametrize("readme", ["README.md", "README.ja.md", "README.ko.md"])
def test_readme_links_the_website_and_says_how_to_build_it(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert BOOK.url in text, f"{readme} does not link {BOOK.url} (book.url in lessons/course.yml)"
    assert "make book" in text


def test_the_pages_workflow_builds_the_book_and_publishes_build_book():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    assert any("make book" in step.get("run", "") for step in steps)
    assert any(step.get("with", {}).get("path") == "build/book" for step in steps)


# --- the built site ---------------------------------------------------------------------------------

class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and attrs.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append((tag, attrs[name]))


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site():
    return built_site()


@pytest.mark.slow
def test_every_lesson_is_a_page_named_after_its_file_in_every_language(site):
    for lang in LANGS:
        for stem in lesson_stems():
            page = site / lang / f"{stem}.html"
            assert page.exists(), f"no {page.relative_to(ROOT)}"
            text = page.read_text(encoding="utf-8")
            assert f'<html lang="{lang}"' in text
            assert "cell_output" in text, f"{page.relative_to(ROOT)} shows no output"
            assert not any(marker in text for marker in HIDDEN_MARKERS), f"{page.relative_to(ROOT)} leaks a hidden test"
            assert BOOK.text(lang, "show_solution") in text
    assert (site / "index.html").exists()


@pytest.mark.slow
def test_the_download_is_the_committed_student_notebook(site):
    for lang in LANGS:
        for stem in lesson_stems():
            download = site / lang / STUDENT_DIR / f"{stem}.ipynb"
            assert download.read_bytes() == (ROOT / coursebuild.notebook_path("notebooks", lang, stem)).read_bytes()


@pytest.mark.slow
def test_pages_show_figures_and_gradcoach_reports(site):
    text = (site / "en" / "01_scalar_derivatives.html").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="_images/[^"]+\.png"', text), "no matplotlib figure on lesson 01"
    assert "gradcoach-report" in text, "gradcoach's HTML report is not rendered"
    graph = (site / "en" / "02_chain_rule.html").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="_images/[^"]+\.svg"', graph), "no torchviz graph on lesson 02"
    assert "\\frac" in text or "\\(" in text or "\\[" in text, "no formula for MathJax"


@pytest.mark.slow
def test_no_internal_link_or_image_of_the_site_is_broken(site):
    # The pages, not the theme's own files (_static/ holds Jinja templates that look like HTML).
    broken, pages = [], [site / "index.html", *sorted(site.glob("*/*.html"))]
    parsed = {page: parse(page) for page in pages}
    for page, links in parsed.items():
        for tag, link in links.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "data:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: <{tag}> {link}")
            elif parts.fragment and target.suffix == ".html" and target in parsed:
                if unquote(parts.fragment) not in parsed[target].ids:
                    broken.append(f"{page.relative_to(site)}: <{tag}> {link} (no such anchor)")
    assert len(pages) >= 3 * len(lesson_stems())
    assert not broken, "\n".join(broken[:30])


@pytest.mark.slow
def test_a_second_build_with_nothing_changed_rewrites_no_page(site):
    pages = sorted(site.glob("*/[0-9][0-9]_*.html"))
    before = {page: page.stat().st_mtime_ns for page in pages}
    build_book()
    assert {page: page.stat().st_mtime_ns for page in pages} == before


@pytest.mark.slow
def test_a_changed_cell_is_executed_again_and_a_failing_cell_stops_the_build_naming_it(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    text = (FIXTURE_LESSONS / "01_cube.md").read_text(encoding="utf-8")
    (lessons / "01_cube.md").write_text(text, encoding="utf-8")
    args = [sys.executable, str(BOOK_TOOL), "--lessons-dir", str(lessons), "--out", str(tmp_path / "out"),
            "--lang", "en"]
    subprocess.run(args, check=True, capture_output=True)
    page = tmp_path / "out" / "book" / "en" / "01_cube.html"
    assert "changed-marker-4711" not in page.read_text(encoding="utf-8")

    first_code = re.search(r"```\{code-cell\}[^\n]*\n(?:---\n.*?\n---\n)?", text, re.S)
    changed = text[:first_code.end()] + 'print("changed-marker-" + str(4700 + 11))\n' + text[first_code.end():]
    (lessons / "01_cube.md").write_text(changed, encoding="utf-8")
    subprocess.run(args, check=True, capture_output=True)
    assert "changed-marker-4711" in page.read_text(encoding="utf-8")

    broken = text[:first_code.end()] + 'raise ValueError("broken-on-purpose")\n' + text[first_code.end():]
    (lessons / "01_cube.md").write_text(broken, encoding="utf-8")
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 1
    assert "01_cube" in done.stderr and "broken-on-purpose" in done.stderr, done.stderr[-3000:]

