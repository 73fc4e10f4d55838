"""Browser tests of the web page: Debian's Chromium driven by Playwright for
Python, against the real `chalice local --stage local` server (offline engine).

Skipped, with the reason, when the playwright package or a Chromium binary is
missing (`make e2e-deps` installs both). Tests that need real faces skip when
../shared/faces is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import ARTIFACTS, CHROMIUM, FACES, launch, open_page
from tests.support.local_server import running_server

try:
    import playwright.sync_api  # noqa: F401
    PLAYWRIGHT_MISSING = None
except ImportError as exc:  # pragma: no cover - depends on the machine
    PLAYWRIGHT_MISSING = f"playwright not installed ({exc}); run `make e2e-deps`"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: browser test (Chromium + Playwright)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = PLAYWRIGHT_MISSING or (
        None if CHROMIUM else "no Chromium at /usr/bin/chromium; run `make e2e-deps` "
                              "(apt-get install chromium) or set IPS_E2E_CHROMIUM")
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# ------------------------------------------------------------------ server

@pytest.fixture(scope="session")
def server():
    """`chalice local --stage local` (offline engine) on a free port; its log
    goes to artifacts/e2e-server.log."""
    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(ARTIFACTS / "e2e-server.log") as base:
        yield base + "/"


# ------------------------------------------------------------------ browser

@pytest.fixture(scope="session")
def playwright_session():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):
    browser = launch(playwright_session)
    yield browser
    browser.close()


@pytest.fixture
def desktop(browser, server):
    context, page = open_page(browser, server)
    yield page
    context.close()


@pytest.fixture
def phone(browser, server):
    context, page = open_page(browser, server, viewport=(390, 844),
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    yield page
    context.close()


# ------------------------------------------------------------------ images

@pytest.fixture(scope="session")
def faces() -> Path:
    folder = FACES / "face_recognition"
    if not (folder / "obama.jpg").exists():
        pytest.skip(f"labelled face photos not found at {FACES} (shared/faces beside the repo)")
    return folder
