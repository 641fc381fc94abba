"""Browser tests: a real gunicorn server (and RQ worker) on this machine, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.servers import gunicorn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def server(app):
    """gunicorn wsgi:app on a free port, sharing the test database and Redis (threaded workers, as in production
    and make run)."""
    with gunicorn(workers=2, threads=4) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in_page(page, server: str, email: str, password: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
