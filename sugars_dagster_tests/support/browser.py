"""Headless Chromium for UI tests: Debian's `chromium`, driven by Playwright (no browser download)."""

import os
import shutil
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SUGARS_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Screenshots kept after the run (CI can collect the folder).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def require_chromium() -> None:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SUGARS_TEST_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the UI tests")
        pytest.skip(reason)


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator:
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def open_ui(page, url: str) -> None:
    """Go to `url`. On a UI served from 127.0.0.1, Dagster opens a community sign-up dialog a
    second after the page loads, until the instance has recorded it as seen; on a busy machine it
    can cover the page (and add its own checkbox) before the test acts. The dialog's own "seen"
    mutation is sent first so that it does not open; should it open anyway, it is skipped."""
    parts = urllib.parse.urlsplit(url)
    page.request.post(
        f"{parts.scheme}://{parts.netloc}/graphql",
        data={"query": "mutation { setNuxSeen }"},
        fail_on_status_code=False,  # a read-only webserver refuses it, and shows no dialog either
    )
    if not getattr(page, "_sugars_skips_sign_up", False):
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        page._sugars_skips_sign_up = True
    page.goto(url, wait_until="networkidle")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
