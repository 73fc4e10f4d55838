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
from chalicelib import backends
from tests.support.images import b64, image_bytes
from tests.support.rekognition_stub import stubbed
from tests.support.services import TestRoot


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
def test_root():
    """The app's composition root for one test (tests/support/services.py)."""
    with backends.override(TestRoot()) as root:
        yield root


@pytest.fixture
def stage_env(test_root):
    """Overrides stage settings for one test, through the composition root.
    (On the cloud stages Chalice's test client lays the stage's config.json
    variables over os.environ, as Lambda would; on the local stage a plain
    monkeypatch.setenv wins, chalicelib/config/environment.py.)"""
    return lambda **values: test_root.env.update(values)


@pytest.fixture
def fake_services(test_root):
    """Fakes for the Services of one test: fake_services(reader=..., today=...)."""
    return lambda **fakes: test_root.fakes.update(fakes)


@pytest.fixture
def dev_client():
    with Client(app, stage_name="dev") as client:
        yield client


@pytest.fixture
def good_body() -> bytes:
    return json.dumps(
        {"dl": b64(image_bytes(400, 300)), "selfie": b64(image_bytes(300, 400, "PNG"))}
    ).encode()
