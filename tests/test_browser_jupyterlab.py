"""The course in a real JupyterLab 4, driven through Debian's chromium (nothing downloads a browser).

JupyterLab runs headless on 127.0.0.1 with a random port and token and temporary Jupyter
folders, serving a copy of notebooks/ (autosave off: the repository is never written). For each
notebook the test runs every cell as a student would, going on past the exercise stubs that
stop "Run All", waits for the kernel, and checks what the student sees: gradcoach's report
rendered (its `gradcoach-report` element visible, in the notebook's language), the computation
graph drawn as an image where the notebook draws one, no broken image, and no error outside the
exercises. Screenshots go to build/screenshots/ (docs/img/lesson.png, the README's picture, is
a copy of the Japanese lesson-02 one, made by hand when the lessons change).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from _browser import NEEDS_CHROMIUM, SCREENSHOTS, chrome
from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
lab = load_tool("lab")

NOTEBOOKS = ["notebooks/ja/02_*.ipynb", "notebooks/en/01_*.ipynb", "notebooks/ko/03_*.ipynb"]
NOTEBOOKS += ["notebooks/ko/07_*.ipynb"]  # lesson 07: its engine graph (SVG) and loss-curve figure render
CELL_TIMEOUT = 120  # seconds for one "run all below"
SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    NEEDS_CHROMIUM,
]


@pytest.fixture(scope="module")
def served():
    """A copy of notebooks/ served by an isolated JupyterLab; yields (root, base_url, token)."""
    with tempfile.TemporaryDirectory(prefix="browser-") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
        with open(Path(tmp) / "lab.log", "wb") as log:
            with lab.running_lab(root, isolated=True, settings=SETTINGS, log=log,
                                 extra=("--LabApp.expose_app_in_browser=True",)) as (base, token, _):
                yield root, base, token


@pytest.fixture(scope="module")
def browser():
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        driver = chrome(Path(profile))
        try:
            yield driver
        finally:
            driver.quit()


APP = "const app = window.jupyterapp; const panel = app && app.shell.currentWidget;"

KERNEL_STATE = APP + """
if (!panel || !panel.sessionContext || !panel.content || !panel.content.widgets) return null;
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const busy = [...panel.node.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
return {status: kernel ? kernel.status : 'none', busy: busy};
"""

NEXT_UNRUN = APP + """
const cells = panel.content.widgets;
const tried = arguments[0];
for (let i = 0; i < cells.length; i++) {
  const m = cells[i].model;
  if (m.type === 'code' && m.executionCount === null && m.sharedModel.getSource().trim() && !tried.includes(i)) {
    panel.content.activeCellIndex = i;
    return i;
  }
}
return -1;
"""

CELLS = APP + """
return panel.content.widgets.map(c => c.model.sharedModel.toJSON());
"""


def wait_for(driver, script, predicate, timeout, what, *args):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if predicate(value):
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last state: {value})")


def idle(state):
    return bool(state) and state["status"] == "idle" and not state["busy"]


def run_every_cell(driver):
    """Run All, then go on from the first cell that did not run (Run All stops at an error, e.g.
    an exercise stub's NotImplementedError), until every non-empty code cell has run."""
    tried = []
    while True:
        index = driver.execute_script(NEXT_UNRUN, tried)
        if index < 0:
            return
        tried.append(index)
        driver.execute_script(APP + "return app.commands.execute('notebook:run-all-below');")
        time.sleep(0.5)
        wait_for(driver, KERNEL_STATE, idle, CELL_TIMEOUT, f"cells from {index} on to finish")


def open_notebook(driver, base, token, rel):
    driver.get(f"{base}/lab/tree/{rel}?token={token}&reset")
    wait_for(driver, KERNEL_STATE, idle, 90, f"{rel} to open with an idle kernel")
    driver.execute_script(APP + "app.commands.execute('application:toggle-left-area');")


def shut_down_kernels(base, token):
    sessions = json.load(urllib.request.urlopen(
        urllib.request.Request(f"{base}/api/sessions", headers={"Authorization": f"token {token}"})))
    for session in sessions:
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE",
                                                      headers={"Authorization": f"token {token}"}))


def shot(driver, element, name):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    time.sleep(0.3)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def draws_graph(nb) -> bool:
    return any(c.cell_type == "code" and ("make_dot(" in c.source or "show_graph(" in c.source) for c in nb.cells)


def is_exercise(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def notebook_for(pattern):
    found = sorted(ROOT.glob(pattern))
    if not found:
        pytest.fail(f"no notebook matches {pattern}: run `make notebooks`")
    return found[0]


@pytest.mark.parametrize("pattern", NOTEBOOKS)
def test_a_student_runs_the_notebook_in_jupyterlab(pattern, served, browser):
    from selenium.webdriver.common.by import By

    import gradcoach

    path = notebook_for(pattern)
    rel = path.relative_to(ROOT).as_posix()
    lang, stem = path.parent.name, path.stem
    _, base, token = served
    open_notebook(browser, base, token, rel)
    try:
        run_every_cell(browser)
        cells = browser.execute_script(CELLS)

        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(cells) if not is_exercise(c)
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"errors outside the exercises in {rel}: {errors}"

        reports = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .gradcoach-report")
        assert reports, f"no gradcoach report rendered in {rel}"
        first = reports[0]
        shot(browser, first, f"{lang}_{stem}_report.png")
        assert first.is_displayed() and first.size["height"] > 20
        title = gradcoach.t("report_title", lang=lang)
        assert any(title in r.text for r in reports), f"no report titled {title!r} (the {lang} catalogue)"

        images = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img, .jp-OutputArea-output svg")
        broken = browser.execute_script(
            "return arguments[0].filter(e => e.tagName === 'IMG' && !(e.complete && e.naturalWidth > 0)).length;",
            images)
        assert broken == 0, f"{broken} output image(s) failed to load in {rel}"
        if draws_graph(nbformat.read(path, as_version=4)):
            graphs = [e for e in images if e.tag_name == "svg" or
                      (e.get_attribute("src") or "").startswith("data:image/svg+xml")]
            assert graphs, f"{rel} draws a computation graph but no SVG image was rendered"
            shot(browser, graphs[0], f"{lang}_{stem}_graph.png")
            assert graphs[0].is_displayed() and graphs[0].size["width"] > 50
    finally:
        shut_down_kernels(base, token)


def test_a_student_validates_a_notebook_and_reads_the_failing_tests_in_its_language(served, browser):
    """nbgrader's Validate button: it saves the notebook, runs it on the server and lists each
    failing test with gradcoach's message in the notebook's language (here: nothing answered)."""
    from selenium.webdriver.common.by import By

    import gradcoach

    path = notebook_for("notebooks/ko/01_*.ipynb")
    rel = path.relative_to(ROOT).as_posix()
    _, base, token = served
    open_notebook(browser, base, token, rel)
    try:
        button = wait_for(browser, "return document.querySelector('.jp-mod-current .validate-button, "
                                   ".validate-button');", bool, 30, "the Validate button")
        button.click()
        dialog = wait_for(browser, "return document.querySelector('.jp-Dialog .validation-failed');",
                          bool, CELL_TIMEOUT, "Validate's results")
        intro = gradcoach.t("not_answered", lang="ko", name="\0").split("\0")[0].strip()
        failed = dialog.find_elements(By.CSS_SELECTOR, "pre")
        assert intro in dialog.text, f"no failing test explained in Korean ({intro!r}):\n{dialog.text[:2000]}"
        assert len(failed) >= 2, "each failing test shows its source and its error"
        shot(browser, dialog, "ko_01_validate.png")
        browser.execute_script("document.querySelector('.jp-Dialog .jp-mod-accept').click();")
    finally:
        shut_down_kernels(base, token)
