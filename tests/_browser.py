"""Debian's chromium driven by selenium, for the browser tests (nothing downloads a browser)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "build" / "screenshots"
MISSING = ("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
           "`.ci/run` installs them: sudo apt-get install chromium chromium-driver")


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def chrome(user_data_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}", "--window-size=1280,900",
                "--lang=en-US"):
        options.add_argument(arg)
    # An explicit driver path: selenium-manager is never asked to find (or download) anything.
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
