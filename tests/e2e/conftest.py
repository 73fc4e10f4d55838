"""Browser tests of the web page: Debian's Chromium driven by Playwright for
Python, against the real `chalice local --stage local` server (offline engine).

Skipped, with the reason, when the playwright package or a Chromium binary is
missing (`make e2e-deps` installs both). Tests that need real faces skip when
../shared/faces is absent."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.helpers import ARTIFACTS, CHROMIUM, FACES, REPO, launch, open_page

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

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """`chalice local --stage local` from the repo root on a free port, with
    the venv's chalice; stopped after the session."""
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice)] if chalice.exists() else [sys.executable, "-m", "chalice.cli"]
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "e2e-server.log", "wb")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command + ["local", "--stage", "local", "--host", "127.0.0.1", "--port", str(port),
                   "--no-autoreload"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chalice local exited with {proc.returncode}; "
                                   f"see {ARTIFACTS / 'e2e-server.log'}")
            try:
                with urllib.request.urlopen(base, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chalice local did not answer within 60 s")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
