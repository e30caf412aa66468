"""End-to-end fixtures: the web app served over HTTP on a real database, driven by real
Chromium through Playwright.

* ``live_server``: ``webui.create_app`` on the suite's ``engine`` (SQLite file, or
  PostgreSQL when ``XIAONENG_TEST_DATABASE_URL`` is set), served by werkzeug on
  127.0.0.1 and a free port in a daemon thread; its base URL.
* ``browser``: headless Chromium (``/usr/bin/chromium`` or ``XIAONENG_CHROMIUM``), one
  per session. Without it the tests skip with the reason, except in CI (``CI=true``),
  where a missing browser is a failure.
* ``page``: a tab in a fresh browser context (its own cookies) on the live server, in
  Chinese; ``new_page()`` opens more (one per person).
* ``shoot``: ``shoot(page, "02-inbox")`` saves a full-page PNG into the screenshots
  folder (``screenshots/`` at the repository root, or ``XIAONENG_SCREENSHOTS``).

Run them alone with ``python -m pytest -m e2e``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import make_server

from engine import DEMO_LOGINS, Engine
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
#: how long ``expect(...)`` waits for a page to show what a test looks for
EXPECT_TIMEOUT_MS = 10_000

Shoot = Callable[[Page, str], Path]
NewPage = Callable[[], Page]
LogIn = Callable[[Page, str], None]
_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test in real Chromium (Playwright) against a live server"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an e2e test (``-m e2e`` / ``-m 'not e2e'``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note on the test whether a phase failed, for ``new_page`` to see it."""
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


def chromium_path() -> str:
    """The Chromium to drive; skip (fail in CI) when there is none."""
    path = os.environ.get("XIAONENG_CHROMIUM") or CHROMIUM
    if not os.access(path, os.X_OK):
        message = (
            f"Chromium not found at {path}: install it (Debian: apt-get install chromium "
            "fonts-noto-cjk) or set XIAONENG_CHROMIUM"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI runs the browser tests)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver (named so as not to clash with the pytest-playwright plugin)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Headless Chromium, one for the whole session."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    chromium = playwright_driver.chromium.launch(executable_path=chromium_path(), headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def live_server(engine: Engine) -> Iterator[str]:
    """The web app on the suite's engine, over HTTP on 127.0.0.1; its base URL.

    The test settings keep CSRF and the login rate limit on and the session cookie
    not secure-only (the server speaks plain HTTP).
    """
    from webui import create_app
    from webui.config import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SESSION_COOKIE_SECURE": False}, engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: str, screenshots: Path
) -> Iterator[NewPage]:
    """``new_page()``: a tab in a fresh browser context on the live server (cookies of
    its own, so one person per tab), in Chinese; all closed after the test, and when
    the test failed, each tab's last page saved as ``FAILED-<test>-<n>.png``."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = request.node.stash.get(_FAILED, False)
    for number, context in enumerate(contexts, start=1):
        if failed:
            for tab in context.pages:
                name = re.sub(r"[^\w.-]+", "-", request.node.name)
                tab.screenshot(
                    path=str(screenshots / f"FAILED-{name}-{number}.png"), full_page=True
                )
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A tab on the live server in a fresh browser context."""
    return new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder for screenshots a reviewer opens (``XIAONENG_SCREENSHOTS``)."""
    folder = Path(os.environ.get("XIAONENG_SCREENSHOTS") or ROOT / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("FAILED-*.png"):  # failures of an earlier run
        stale.unlink()
    return folder


@pytest.fixture
def shoot(screenshots: Path) -> Shoot:
    """``shoot(page, "02-inbox")``: a full-page PNG of what the page shows now."""

    def take(tab: Page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


def password_of(person: str) -> str:
    """The demo password of a person (``engine.DEMO_LOGINS``; ``demo123`` otherwise)."""
    return next((d.password for d in DEMO_LOGINS if d.person_id == person), "demo123")


@pytest.fixture
def log_in() -> LogIn:
    """``log_in(page, "window01")``: fill in and send the login form, wait for the home
    page."""

    def login(tab: Page, person: str) -> None:
        tab.goto("/login")
        tab.get_by_label("用户名").fill(person)
        tab.get_by_label("密码").fill(password_of(person))
        tab.get_by_role("button", name="登录").click()
        expect(tab.get_by_role("button", name="退出")).to_be_visible()

    return login
