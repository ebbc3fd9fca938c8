"""Debian's chromium driven by selenium, for the browser tests (nothing downloads a browser)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "build" / "screenshots"
MISSING = ("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
           "`.ci/run` installs them: sudo apt-get install chromium chromium-driver")


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


NEEDS_CHROMIUM = pytest.mark.skipif(not available(), reason=MISSING)


def chrome(user_data_dir: Path, console_log: bool = False):
    """A headless chromium at 1280x900; with ``console_log`` its console is readable (get_log)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}", "--window-size=1280,900",
                "--lang=en-US"):
        options.add_argument(arg)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium-manager is never asked to find (or download) anything.
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
