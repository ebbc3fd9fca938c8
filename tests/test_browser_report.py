"""The class report (`make report`) as an instructor sees it: the graded sample class's page in
Japanese, opened in Debian's chromium, with its histogram loaded and its tables filled in.

The page is the same report re-rendered in Japanese (the course's `lang` set to ja, as
tests/test_autograde_report.py does), so the sample class is graded only once for all these tests.
The screenshot goes to build/screenshots/class_report_ja.png; with UPDATE_DOCS_SCREENSHOTS=1 it is
also copied to docs/img/class_report.png, the picture in autograde/README.md.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from autograde.course import Course
from autograde.messages import t
from autograde.report import write_reports
from autograde.sandbox import probe

from _browser import MISSING, SCREENSHOTS, available, chrome

ROOT = Path(__file__).resolve().parents[1]
LESSON1 = "01_scalar_derivatives"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason=MISSING),
    pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}"),
]


def test_the_class_report_renders_in_japanese_in_a_browser(sample_graded, tmp_path):
    from selenium.webdriver.common.by import By

    course_dir = tmp_path / "course"
    shutil.copytree(sample_graded.root, course_dir)
    settings = json.loads((course_dir / "autograde.json").read_text())
    (course_dir / "autograde.json").write_text(json.dumps({**settings, "lang": "ja"}))
    page = next(p for p in write_reports(Course(course_dir), [LESSON1]))
    numbers = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))

    browser = chrome(tmp_path / "chromium")
    try:
        browser.set_page_load_timeout(60)
        browser.get(page.as_uri())
        assert browser.title == t("rp_title", "ja", assignment=LESSON1)
        image = browser.find_element(By.TAG_NAME, "img")
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        assert t("rp_exercises", "ja") in headings and t("rp_attention", "ja") in headings
        cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "td.n")]
        for exercise in numbers["exercises"]:
            assert f"{exercise['passed']}/{exercise['graded']}" in cells
        flagged = browser.find_element(By.CSS_SELECTOR, 'ul[data-kind="flagged"]').text
        assert "20007" in flagged  # the sample's cheater
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(max(height + 120, 900), 4000))  # the whole page in one picture
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "class_report_ja.png"
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, ROOT / "docs" / "img" / "class_report.png")
