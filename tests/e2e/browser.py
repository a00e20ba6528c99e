"""Debian's Chromium driven by Playwright (never a downloaded browser: `playwright install` is not used)."""
import contextlib
import os
import shutil

CHROMIUM = os.environ.get("GRAPHGRAD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def available():
    return os.path.exists(CHROMIUM)


@contextlib.contextmanager
def launch():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
