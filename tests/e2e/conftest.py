"""Browser tests: Playwright drives Debian's Chromium against Django's live server.

They count as needing a service: without Chromium they skip, under REQUIRE_SERVICES=1 they fail.
Every page a test visits can be checked with axe-core (from npm) and saved as a screenshot in
artifacts/screenshots/ (not in git).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_service

# Playwright's sync API runs an event loop in this thread; the ORM calls that the tests make
# between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Every browser test is one visitor from 127.0.0.1: the counters of the tests before it (kept in Redis for
    an hour) must not refuse it with a 429. Only the rate-limit keys go; nothing else in the cache or broker."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
        try:
            keys = list(client.scan_iter(match="*ratelimit:*", count=1000))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # no Redis: nothing was counted there
    else:
        cache.clear()  # the in-process cache of the live server
    yield


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require_service(sync_playwright is not None, "Python Playwright is not installed (make test installs it)")
    require_service(Path(CHROMIUM).exists() or bool(shutil.which(CHROMIUM)), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    require_service(AXE.exists(), "axe-core is not installed (npm ci)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _watch_csp(page) -> list[str]:
    """Collect the browser's Content-Security-Policy complaints: every page must work within the policy."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)
    return violations


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    csp_violations = _watch_csp(page)
    yield page
    context.close()
    assert csp_violations == [], "the Content-Security-Policy blocked something:\n" + "\n".join(csp_violations)


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    csp_violations = _watch_csp(page)
    yield page
    context.close()
    assert csp_violations == [], "the Content-Security-Policy blocked something:\n" + "\n".join(csp_violations)


def check_accessibility(page, name: str) -> None:
    """Run axe-core at WCAG 2.1 A/AA on the current page, save a screenshot, fail on any violation."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"), full_page=True)
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern
    # (an injected <script> would be, rightly, blocked).
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"][:5]]}
        for v in result["violations"]
    ]
    assert violations == [], f"axe found violations on {name} ({page.url}):\n" + json.dumps(violations, indent=2)


def log_in(page, email: str, password: str = "correct horse battery staple") -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
