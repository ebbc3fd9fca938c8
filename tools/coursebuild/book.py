"""The course website's pages: each lesson's solution notebook made into a book page (``make book``).

A page is the nbgrader source form (the solutions run, so every output is there) with its header
replaced by the book's own (title, Colab badge, student-notebook download), the setup cell and each
reference solution folded behind a toggle, and the hidden tests taken out by nbgrader's own
``ClearHiddenTests`` (the preprocessor the student form uses, so the book shows what a student sees).
tools/build_book.py writes the pages and runs Sphinx; the words come from ``book:`` in course.yml.
"""
from __future__ import annotations

import copy
import html
from dataclasses import dataclass
from pathlib import Path

import yaml
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

from .compose import notebook_path
from .config import DEFAULT_CONFIG, LANGUAGES, ConfigError, CourseConfig

BOOK_KEYS = ("title", "intro", "lessons", "show_solution", "hide_solution", "show_setup", "hide_setup",
             "download", "language")
HEADER_ID, SETUP_ID = "course-header", "course-setup"
STUDENT_DIR = "student"  # build/book/<lang>/student/NN_slug.ipynb: the download


@dataclass(frozen=True)
class BookConfig:
    url: str  # where the site is published (the root page, ending in /)
    languages: dict  # lang -> {key: text} for BOOK_KEYS

    def text(self, lang: str, key: str) -> str:
        return self.languages[lang][key]

    def page_url(self, lang: str, stem: str | None = None) -> str:
        return f"{self.url}{lang}/{(stem or 'index')}.html"


def load_book_config(path: Path = DEFAULT_CONFIG) -> BookConfig:
    """The ``book:`` section of course.yml, checked; :class:`ConfigError` names the problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    book = data.get("book") if isinstance(data, dict) else None
    if not isinstance(book, dict):
        raise ConfigError(f"{path}: 'book' must give the site's url and languages (see the comment there)")
    url = book.get("url")
    if not isinstance(url, str) or not url.startswith("https://") or not url.endswith("/"):
        raise ConfigError(f"{path}: book.url must be an https:// address ending in /, not {url!r}")
    languages = book.get("languages") if isinstance(book.get("languages"), dict) else {}
    for lang in LANGUAGES:
        texts = languages.get(lang)
        for key in BOOK_KEYS:
            if not isinstance(texts, dict) or not isinstance(texts.get(key), str) or not texts[key].strip():
                raise ConfigError(f"{path}: book.languages.{lang}.{key} must be a non-empty string")
    return BookConfig(url, {lang: {key: languages[lang][key].strip() for key in BOOK_KEYS} for lang in LANGUAGES})


def _fold(cell: NotebookNode, show: str, hide: str) -> None:
    """Fold a code cell's source behind a toggle labelled ``show`` (MyST-NB's hide-input); outputs stay."""
    tags = list(cell.metadata.get("tags", []))
    cell.metadata["tags"] = tags + ["hide-input"] if "hide-input" not in tags else tags
    cell.metadata["mystnb"] = {"code_prompt_show": show, "code_prompt_hide": hide}


def _fold_markdown(cell: NotebookNode, show: str) -> None:
    cell.source = (f'<details class="course-solution">\n<summary>{html.escape(show)}</summary>\n\n'
                   f"{cell.source}\n\n</details>")


def header_markdown(title: str, stem: str, lang: str, config: CourseConfig, book: BookConfig) -> str:
    """The page's title and its two ways to work on the lesson: Colab, or the downloaded notebook."""
    colab = config.colab_url(notebook_path("notebooks", lang, stem))
    return (f"# {title}\n\n"
            f'<p class="course-actions">'
            f'<a class="course-colab" href="{html.escape(colab)}">{html.escape(config.text(lang, "colab_badge"))}</a> '
            f'<a class="course-download" href="{STUDENT_DIR}/{stem}.ipynb" download>'
            f'{html.escape(book.text(lang, "download"))}</a></p>')


def book_page(source_nb: NotebookNode, title: str, stem: str, lang: str, config: CourseConfig,
              book: BookConfig) -> NotebookNode:
    """The book page of one lesson in one language, from its nbgrader source form (not modified)."""
    nb = copy.deepcopy(source_nb)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.get("id") == HEADER_ID:
            cell.source = header_markdown(title, stem, lang, config, book)
        elif cell.get("id") == SETUP_ID:
            _fold(cell, book.text(lang, "show_setup"), book.text(lang, "hide_setup"))
        elif grading.get("solution") and cell.cell_type == "code":
            _fold(cell, book.text(lang, "show_solution"), book.text(lang, "hide_solution"))
        elif grading.get("solution") and cell.cell_type == "markdown":
            _fold_markdown(cell, book.text(lang, "show_solution"))
        cell.metadata.pop("nbgrader", None)  # nbgrader's checksums are noise here
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def index_markdown(lang: str, stems: list, book: BookConfig) -> str:
    """A language's front page: the course's title, what the site is, and the lessons (its toctree)."""
    return (f"# {book.text(lang, 'title')}\n\n{book.text(lang, 'intro')}\n\n"
            f"```{{toctree}}\n:caption: {book.text(lang, 'lessons')}\n:maxdepth: 1\n\n"
            + "".join(f"{stem}\n" for stem in stems) + "```\n")


def root_page(book: BookConfig, native_names: dict) -> str:
    """build/book/index.html: pick a language (each link names the language in itself)."""
    items = "\n".join(
        f'    <li><a href="{lang}/index.html" hreflang="{lang}" lang="{lang}">'
        f'<strong>{html.escape(native_names[lang])}</strong> — {html.escape(book.text(lang, "title"))}</a></li>'
        for lang in LANGUAGES)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="en/_static/favicon.svg" type="image/svg+xml">
  <title>{html.escape(" · ".join(book.text(lang, "title") for lang in LANGUAGES))}</title>
  <style>
    body {{ font-family: system-ui, "Noto Sans CJK JP", "Noto Sans CJK KR", sans-serif; max-width: 40rem;
           margin: 3rem auto; padding: 0 1rem; line-height: 1.6; }}
    li {{ margin: .75rem 0; font-size: 1.2rem; }}
  </style>
</head>
<body>
  <h1>Autograd · 自動微分 · 자동 미분</h1>
  <ul class="course-languages">
{items}
  </ul>
</body>
</html>
"""
