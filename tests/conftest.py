import json
import os
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from chalice.test import Client

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from app import app  # noqa: E402  (the region must be set first)
from chalicelib import rekognition_engine  # noqa: E402
from chalicelib.documents import textract as textract_reader  # noqa: E402
from tests.images import b64, image_bytes  # noqa: E402

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"


@pytest.fixture
def rekognition():
    """A real botocore client whose calls a Stubber answers; installed as the
    process-wide Rekognition client for the duration of the test."""
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    saved = rekognition_engine._client
    rekognition_engine._client = client
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    rekognition_engine._client = saved


@pytest.fixture(autouse=True)
def textract():
    """Every test runs with a stubbed Textract client, since the dev stage
    reads documents: a test that cares queues AnalyzeID answers; an
    unanswered call fails inside the reader (document read: false), as an
    unreachable Textract would, and never reaches AWS."""
    client = boto3.client("textract", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    saved = textract_reader._client
    textract_reader._client = client
    with stubber:
        yield stubber
    textract_reader._client = saved


@pytest.fixture
def stage_env(monkeypatch):
    """Overrides stage settings for one test. Chalice's test client lays the
    stage's config.json variables over os.environ, so patch what app.py
    reads instead."""
    import app as app_module
    from chalicelib.settings import load_settings

    def override(**values):
        monkeypatch.setattr(app_module, "load_settings",
                            lambda: load_settings({**os.environ, **values}))
    return override


@pytest.fixture
def dev_client():
    with Client(app, stage_name="dev") as client:
        yield client


@pytest.fixture
def good_body() -> bytes:
    return json.dumps({"dl": b64(image_bytes(400, 300)),
                       "selfie": b64(image_bytes(300, 400, "PNG"))}).encode()


def post(client, body, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.http.post("/ips", headers=headers, body=body)
