"""The course website in Debian's chromium, served from build/book/ on 127.0.0.1 (nothing else reachable).

Every page of the three books loads without a console error, with its images and its formulas
rendered; Japanese and Korean text is drawn with a CJK font (chromium's own account of the fonts it
used, not a guess); the language switcher goes to the same lesson; the text column fits a phone;
search finds a Japanese and a Korean word from the middle of a sentence. Screenshots go to
build/screenshots/book-<lang>-<lesson>.png.
"""
from __future__ import annotations

import functools
import re
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import coursebuild

from _book import built_site, lesson_stems
from _browser import NEEDS_CHROMIUM, chrome
from _build import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, NEEDS_CHROMIUM]
SCREENSHOTS = ROOT / "build" / "screenshots"
LANGS = coursebuild.LANGUAGES
LESSON = "01_scalar_derivatives"
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    site = built_site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        driver = chrome(Path(profile), console_log=True)
        driver.set_script_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def settle(driver):
    """Wait until MathJax (if the page has it) has typeset everything."""
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        if (window.MathJax && MathJax.Hub) MathJax.Hub.Queue(() => done(true)); else done(false);
    """)


def open_page(driver, url):
    driver.get(url)
    settle(driver)


def all_pages() -> list:
    site = built_site()
    return [p.relative_to(site).as_posix() for p in [site / "index.html", *sorted(site.glob("*/*.html"))]]


def test_every_page_loads_without_console_errors_with_its_images_and_formulas(base_url, browser):
    problems = []
    browser.get_log("browser")  # start clean
    pages = all_pages()
    assert len(pages) > 3 * len(lesson_stems())
    for rel in pages:
        open_page(browser, f"{base_url}/{rel}")
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        problems += [f"{rel}: {message}" for message in errors]
        state = browser.execute_script("""
            return {broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
                    mathErrors: document.querySelectorAll('.MathJax_Error, .mjx-error, merror').length,
                    math: document.querySelectorAll('div.math, span.math').length,
                    typeset: document.querySelectorAll('.MathJax_CHTML').length};""")
        if state["broken"]:
            problems.append(f"{rel}: broken images {state['broken']}")
        if state["mathErrors"] or (state["math"] and not state["typeset"]):
            problems.append(f"{rel}: formulas not typeset ({state})")
    assert not problems, "\n".join(problems[:40])


def platform_fonts(driver, css: str) -> list:
    """The fonts chromium actually drew the element's text with: [{familyName, glyphCount}]."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": css})["nodeId"]
    assert node, f"no element {css}"
    return driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


@pytest.mark.parametrize("lang", ["ja", "ko"])
def test_japanese_and_korean_text_is_drawn_with_a_cjk_font(lang, base_url, browser):
    open_page(browser, f"{base_url}/{lang}/{LESSON}.html")
    text = browser.execute_script("""
        const p = [...document.querySelectorAll('article p')].find(p => /[\\u3040-\\u30ff\\u4e00-\\u9fff\\uac00-\\ud7af]/.test(p.textContent)
                                                                  && !p.querySelector('*'));
        if (!p) return null;
        p.id = 'cjk-probe';
        return p.textContent;""")
    assert text, f"no plain {lang} paragraph on {lang}/{LESSON}.html"
    fonts = platform_fonts(browser, "#cjk-probe")
    cjk_glyphs = sum(f["glyphCount"] for f in fonts if "CJK" in f["familyName"])
    assert cjk_glyphs >= len(CJK.findall(text)), f"{lang}: CJK characters drawn with {fonts}"


def test_the_language_switcher_goes_to_the_same_lesson_and_a_screenshot_of_each_language(base_url, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    titles = {lang: coursebuild.read_lesson(ROOT / "lessons" / f"{LESSON}.md").titles[lang] for lang in LANGS}
    open_page(browser, f"{base_url}/en/{LESSON}.html")
    for lang in ["ja", "ko", "en"]:
        link = browser.find_element("css selector", f".course-language-switcher a[hreflang='{lang}']")
        link.click()
        deadline = time.monotonic() + 20
        while not browser.current_url.endswith(f"/{lang}/{LESSON}.html") and time.monotonic() < deadline:
            time.sleep(0.1)
        settle(browser)
        assert browser.current_url.endswith(f"/{lang}/{LESSON}.html")
        assert browser.execute_script("return document.documentElement.lang") == lang
        assert browser.find_element("css selector", "article h1").text.strip().rstrip("#").strip() == titles[lang]
        browser.save_screenshot(str(SCREENSHOTS / f"book-{lang}-{LESSON}.png"))


def test_at_phone_width_the_text_column_does_not_scroll_sideways(base_url, browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        too_wide = []
        for lang in LANGS:
            for stem in lesson_stems():
                open_page(browser, f"{base_url}/{lang}/{stem}.html")
                sizes = browser.execute_script("""
                    const a = document.querySelector('article');
                    return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                            article: a.scrollWidth, column: a.clientWidth};""")
                if sizes["page"] > sizes["view"] or sizes["article"] > sizes["column"] + 1:
                    too_wide.append(f"{lang}/{stem}: {sizes}")
        open_page(browser, f"{base_url}/ja/{LESSON}.html")
        browser.save_screenshot(str(SCREENSHOTS / f"book-ja-{LESSON}-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("lang, word, lesson", [
    ("ja", "連鎖律", "02_chain_rule"),
    ("ja", "勾配", "01_scalar_derivatives"),
    ("ko", "법칙", "02_chain_rule"),
    ("ko", "기울기", "01_scalar_derivatives"),
])
def test_search_finds_a_word_from_the_middle_of_a_sentence(lang, word, lesson, base_url, browser):
    page = (built_site() / lang / f"{lesson}.html").read_text(encoding="utf-8")
    assert re.search(rf"[^\s>]{word}|{word}[^\s<]", page), f"{word} is not inside a longer run of text on {lesson}"
    open_page(browser, f"{base_url}/{lang}/search.html?q={word}")
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline:
        found = browser.execute_script(
            "return [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.getAttribute('href'))")
        if found or browser.execute_script(
                "const s = document.querySelector('#search-results .search-summary'); return !!s && !!s.textContent"):
            break
        time.sleep(0.2)
    assert any(href.split("?")[0].split("#")[0].endswith(f"{lesson}.html") for href in found), \
        f"{lang} search for {word!r} found {found}"
