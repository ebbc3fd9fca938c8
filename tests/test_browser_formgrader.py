"""An instructor in Formgrader, in a real JupyterLab driven through Debian's chromium.

The sample class is graded into a course inside a temporary server root (`make grade`'s sample
path, with --course), JupyterLab is started the way `make lab` starts it for that course, and the
instructor's path is walked: the released assignments and the 14 students are listed, the report's
`formgrader` link opens one autograded submission, a manual score typed into it is saved, and
after the next `make grade` (nothing regraded) the gradebook, grades.csv and the report carry it.
Screenshots go to build/screenshots/; with UPDATE_DOCS_SCREENSHOTS=1 the Formgrader one is also
copied to docs/img/formgrader.png, the picture in autograde/README.md.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograde.course import COURSE_ID, Course
from autograde.sandbox import probe

from _browser import MISSING, SCREENSHOTS, available, chrome
from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
lab = load_tool("lab")
ASSIGNMENTS = ("01_scalar_derivatives", "02_chain_rule")
STUDENT, ASSIGNMENT, TEST = "20002", "01_scalar_derivatives", "ex3_test"  # partial: ex3 autograded 0/2
SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason=MISSING),
    pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}"),
]


def autograde(course: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "autograde", "--course", str(course), *args, "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def report_row(course: Path) -> dict:
    rows = json.loads((course / "report.json").read_text())
    return next(r for r in rows if r["student"] == STUDENT and r["assignment"] == ASSIGNMENT)


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def rows_text(driver, selector="table tbody tr"):
    from selenium.webdriver.common.by import By

    return [r.text for r in driver.find_elements(By.CSS_SELECTOR, selector)]


@pytest.fixture(scope="module")
def graded():
    """The graded sample class in <server root>/classroom/sample; yields (server root, course)."""
    with tempfile.TemporaryDirectory(prefix="formgrader-") as tmp:
        root = Path(tmp)
        course = root / "classroom" / "sample"
        autograde(course, "sample")
        yield root, course


@pytest.fixture(scope="module")
def browser():
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        driver = chrome(Path(profile))
        try:
            yield driver
        finally:
            driver.quit()


def test_an_instructor_overrides_a_score_in_formgrader_and_make_grade_keeps_it(graded, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root, course = graded
    row = report_row(course)
    assert row["score"] == 3.0 and f"{TEST} 0/2" in row["tests"] and row["formgrader"]
    with open(root / "lab.log", "wb") as log:
        with lab.running_lab(root, isolated=True, settings=SETTINGS, log=log, course=course) as (base, token, _):
            browser.get(f"{base}/formgrader?token={token}")  # the Nbgrader menu's Formgrader
            listed = wait_for("both assignments in Manage Assignments",
                              lambda: [t for t in rows_text(browser) if t.startswith(ASSIGNMENTS)], 90)
            assert len(listed) == 2, listed
            browser.get(f"{base}/formgrader/manage_students")
            students = wait_for("the students in Manage Students",
                                lambda: [t for t in rows_text(browser) if t.strip() and "Loading" not in t])
            assert len(students) == 14, students

            browser.get(f"{base}/{row['formgrader']}")  # the report's link: the autograded notebook
            score = wait_for("the formgrade page's score boxes",
                             lambda: browser.find_elements(By.CSS_SELECTOR, f"input.score#{TEST}"), 90)[0]
            assert browser.find_elements(By.CSS_SELECTOR, ".cell"), "no autograded notebook shown"
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", score)
            score.click()
            score.send_keys("1.5", Keys.TAB)  # Formgrader saves the box on change

            def saved():
                with Gradebook(Course(course).db_url, COURSE_ID) as gb:
                    return gb.find_grade(TEST, ASSIGNMENT, ASSIGNMENT, STUDENT).manual_score == 1.5
            wait_for("Formgrader to save the manual score", saved, 30)
            time.sleep(0.5)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOTS / "formgrader.png"))
            if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
                shutil.copyfile(SCREENSHOTS / "formgrader.png", ROOT / "docs" / "img" / "formgrader.png")

            feedback = f"/files/classroom/sample/{row['feedback']}"
            status, body = lab.get(base, token, feedback)
            assert status == 200 and ASSIGNMENT.encode() in body, f"feedback {feedback}: HTTP {status}"

            out = autograde(course, "grade")  # the next `make grade`, Formgrader still open
    assert "graded 0 submission(s)" in out, out
    with Gradebook(Course(course).db_url, COURSE_ID) as gb:
        assert gb.find_grade(TEST, ASSIGNMENT, ASSIGNMENT, STUDENT).manual_score == 1.5
    with open(course / "grades.csv", newline="") as fh:
        grades = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(fh)}
    assert grades[(STUDENT, ASSIGNMENT)] == 3.0 + 1.5
    row = report_row(course)
    assert row["score"] == 4.5 and row["manual"] == f"{TEST} 1.5/2 (autograded 0)"
