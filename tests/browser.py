"""Headless Chromium for the tests that look at pages: Debian's ``chromium`` driven by its
``chromedriver`` through selenium. No browser is ever downloaded: ``tools/browser/install``
(run by ``nox -s tests``) apt-installs both when they are missing.

``browser`` (a fixture, imported by tests/conftest.py) yields a selenium ``WebDriver`` with a
fresh profile, closed after the test; ``open_browser()`` makes more (two people at once);
``screenshot(driver, path)`` saves the whole page as a PNG.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "tools/browser/install"
WINDOW = (1100, 800)
PHONE_WIDTH = 390
"""The CSS width of a common phone's screen, for pages that must work on one."""
PAGE_LOAD_SECONDS = 20

# The machine's network is closed: without these, chromium waits on update, sync and
# safe-browsing requests that never answer; no sandbox because tests run as root in a container.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--password-store=basic",
)


@contextlib.contextmanager
def open_browser(width: int = WINDOW[0], height: int = WINDOW[1]) -> Iterator[WebDriver]:
    """A headless Chromium with a profile of its own, quit (and its profile removed) on exit."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing: run {INSTALL} as root "
                    f"(apt-get install chromium chromium-driver)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="matterstack-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium (selenium ``WebDriver``) for one test."""
    with open_browser() as driver:
        yield driver


def screenshot(driver, path: Path | str, width: int | None = None) -> Path:
    """Save the whole page (not only the window) as a PNG at ``path``; ``width`` sets the
    window's width first (``PHONE_WIDTH`` for a phone). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    width = width or size["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(int(height) + 140, 400))  # the window's frame takes some of its height
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path
