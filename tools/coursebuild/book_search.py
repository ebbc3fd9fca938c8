"""Korean search for the course website: Sphinx has no Korean search language, so a Korean page would be
indexed by whole space-separated words (기울기를, 기울기는) and a reader searching for 기울기 or 미분
would miss most of them. This one indexes each word without its trailing particle (josa) and strips the
same particles from the query in the browser (one list, used by both sides).
"""
from __future__ import annotations

import json

from sphinx.search import SearchLanguage

# Longest first: 에서는 before 는. A particle is stripped only when something is left of the word.
PARTICLES = ("이라는", "에서는", "으로는", "에서", "에게", "으로", "까지", "부터", "처럼", "보다", "라는", "이다",
             "은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만")


def strip_particle(word: str) -> str:
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) > len(particle):
            return word[: -len(particle)]
    return word


class SearchKorean(SearchLanguage):
    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = f"""
/** Korean: the word without its trailing particle (coursebuild/book_search.py, the same list). */
var Stemmer = function () {{
  const particles = {json.dumps(PARTICLES, ensure_ascii=False)};
  this.stemWord = function (w) {{
    for (const p of particles) {{
      if (w.endsWith(p) && w.length > p.length) return w.slice(0, w.length - p.length);
    }}
    return w;
  }};
}};
"""

    def stem(self, word: str) -> str:
        return strip_particle(word.lower())


def register() -> None:
    """Make Sphinx use :class:`SearchKorean` for ``language = "ko"`` (called from the book's conf.py)."""
    import sphinx.search

    sphinx.search.languages.setdefault("ko", SearchKorean)
