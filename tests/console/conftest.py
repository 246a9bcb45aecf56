"""Browser fixtures for the console: Debian's chromium through Playwright (pytest-playwright-asyncio's one
session browser), every page cut off from anything but 127.0.0.1, screenshots kept as test artifacts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route

from db.seed import DEMO_PASSWORD

CHROMIUM = os.environ.get("KX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of every page the tests walk through (git-ignored with the rest of .data/).
ARTIFACTS = Path(__file__).resolve().parents[2] / ".data" / "test-artifacts" / "console"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """The plugin launches the system chromium, never a downloaded browser build."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_FLAGS, "headless": True}


def _loopback_only(blocked: list[str]) -> Callable[[Route], Awaitable[None]]:
    """A route handler letting requests to 127.0.0.1 through and aborting (and noting) anything else."""

    async def handle(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("blockedbyclient")

    return handle


Opener = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture
async def open_page(browser: Browser, api_url: str) -> AsyncIterator[Opener]:
    """`await open_page()` → a page in a fresh context (its own cookies) whose requests leave only for 127.0.0.1.

    The console needs nothing from outside: a page that tried to reach another host fails the test.
    """
    contexts = []
    blocked: list[str] = []

    async def _open(*, mobile: bool = False) -> Page:
        size = {"width": 390, "height": 844} if mobile else {"width": 1366, "height": 900}
        context = await browser.new_context(
            base_url=api_url, viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai", is_mobile=mobile
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.route("**/*", _loopback_only(blocked))
        return page

    yield _open
    for context in contexts:
        await context.close()
    assert blocked == [], f"the console asked for outside resources: {blocked}"


async def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the console's form; lands on My work."""
    await page.goto("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/inbox")


async def snap(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
