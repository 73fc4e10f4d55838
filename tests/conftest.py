"""Fixtures shared by every test scope. Helpers live in tests/support/."""

import json
import os

import pytest
from chalice.test import Client

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The local store's key for every test and every server a test starts, so no
# test writes a generated key under the user's ~/.config (core/crypto.py).
os.environ.setdefault("IPS_DATA_KEY", "aXBzLXRlc3QtZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=")

from app import app
from tests.support.images import b64, image_bytes
from tests.support.rekognition_stub import stubbed


@pytest.fixture
def rekognition():
    """A Stubber answering the process's Rekognition calls for one test; it
    must have used every answer it was given."""
    with stubbed("rekognition") as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def textract():
    """Every test runs with a stubbed Textract client, since the dev stage
    reads documents: a test that cares queues AnalyzeID answers; an
    unanswered call fails inside the reader (document read: false), as an
    unreachable Textract would, and never reaches AWS."""
    with stubbed("textract") as stubber:
        yield stubber


@pytest.fixture
def stage_env(monkeypatch):
    """Overrides stage settings for one test. Chalice's test client lays the
    stage's config.json variables over os.environ, so patch what app.py
    reads instead."""
    import app as app_module
    from chalicelib.settings import load_settings

    def override(**values):
        monkeypatch.setattr(
            app_module, "load_settings", lambda: load_settings({**os.environ, **values})
        )

    return override


@pytest.fixture
def dev_client():
    with Client(app, stage_name="dev") as client:
        yield client


@pytest.fixture
def good_body() -> bytes:
    return json.dumps(
        {"dl": b64(image_bytes(400, 300)), "selfie": b64(image_bytes(300, 400, "PNG"))}
    ).encode()
