"""Rekognition faults the Stubber cannot produce: timeouts, and throttling
that botocore really retries with the service's own retry configuration."""
import json
from contextlib import ExitStack

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from chalicelib.aws import clients as aws
from tests.support.calls import post
from tests.support.images import b64, image_bytes

BODY = json.dumps({"dl": b64(image_bytes(400, 300)), "selfie": b64(image_bytes(300, 400))})
URL = "https://rekognition.us-east-1.amazonaws.com/"


class RaisingClient:
    """Stands in for the boto3 client: compare_faces raises `exc`."""

    def __init__(self, exc):
        self.exc = exc
        self.calls = 0

    def compare_faces(self, **kwargs):
        self.calls += 1
        raise self.exc


@pytest.fixture
def install():
    """Installs a client as the process's Rekognition client until the test ends."""
    with ExitStack() as stack:
        def install(client):
            return stack.enter_context(aws.override("rekognition", client))
        yield install


@pytest.mark.parametrize("exc, status, code", [
    (ReadTimeoutError(endpoint_url=URL), 504, "ENGINE_TIMEOUT"),
    (ConnectTimeoutError(endpoint_url=URL), 504, "ENGINE_TIMEOUT"),
    (EndpointConnectionError(endpoint_url=URL), 502, "ENGINE_ERROR"),
])
def test_transport_failures(dev_client, install, exc, status, code):
    client = install(RaisingClient(exc))
    response = post(dev_client, BODY)
    assert response.status_code == status
    error = json.loads(response.body)
    assert error["code"] == code
    assert URL not in response.body.decode() and "amazonaws" not in response.body.decode()
    assert client.calls == 1


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


@pytest.fixture
def real_client(install, monkeypatch):
    """A botocore client with the service's CLIENT_CONFIG (adaptive retries,
    3 attempts); nothing leaves the process: a before-send hook answers every
    HTTP attempt and counts them. Backoff sleeps are skipped."""
    import botocore.endpoint
    import botocore.retries.adaptive
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)
    # Adaptive mode's client-side rate limiter waits on a condition after a
    # throttle (up to seconds); the retry decisions themselves are unchanged.
    monkeypatch.setattr(botocore.retries.adaptive.ClientRateLimiter, "on_sending_request",
                        lambda self, request, **kwargs: None)
    client = boto3.client("rekognition", region_name="us-east-1",
                          config=aws.CLIENT_CONFIG,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    attempts = []

    def answer_with(behaviour):
        def handler(request, **kwargs):
            attempts.append(request.url)
            return behaviour(request)
        client.meta.events.register("before-send.rekognition.CompareFaces", handler)
        return attempts
    install(client)
    return answer_with


def _throttled(request):
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1",
                                          "x-amzn-ErrorType": "ThrottlingException"}, _Raw(body))


def test_throttling_is_retried_then_503(dev_client, real_client):
    attempts = real_client(_throttled)
    response = post(dev_client, BODY)
    assert len(attempts) == 3
    assert response.status_code == 503
    assert json.loads(response.body)["code"] == "ENGINE_BUSY"
    assert int(response.headers["Retry-After"]) > 0


def test_throttling_then_success_is_a_normal_answer(dev_client, real_client):
    ok = json.dumps({
        "SourceImageFace": {"BoundingBox": {"Left": .1, "Top": .1, "Width": .3, "Height": .3},
                            "Confidence": 99.0},
        "FaceMatches": [{"Similarity": 91.0, "Face": {"BoundingBox": {
            "Left": .2, "Top": .2, "Width": .3, "Height": .3}, "Confidence": 99.0}}],
        "UnmatchedFaces": []}).encode()
    seen = []

    def first_throttled(request):
        seen.append(1)
        if len(seen) == 1:
            return _throttled(request)
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"},
                           _Raw(ok))
    attempts = real_client(first_throttled)
    response = post(dev_client, BODY)
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["similarity"] == 91.0
    assert len(attempts) == 2


def test_worst_case_fits_the_lambda_timeout():
    """Every attempt timing out, plus the largest backoffs, must end before
    the function's timeout so the caller gets our 504, not API Gateway's."""
    from pathlib import Path
    config = aws.CLIENT_CONFIG
    attempts = config.retries["total_max_attempts"]
    assert "max_attempts" not in config.retries       # botocore adds one to it
    backoff = sum(min(2 ** i, 20) for i in range(attempts - 1))   # standard/adaptive max
    worst = attempts * (config.connect_timeout + config.read_timeout) + backoff
    config_file = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
    chalice = json.loads(config_file.read_text())
    assert worst < chalice["lambda_timeout"] <= 29


def test_read_timeouts_are_retried_then_504(dev_client, real_client):
    def timeout(request):
        raise ReadTimeoutError(endpoint_url=request.url)
    attempts = real_client(timeout)
    response = post(dev_client, BODY)
    assert len(attempts) == 3
    assert response.status_code == 504
    assert json.loads(response.body)["code"] == "ENGINE_TIMEOUT"


def test_server_error_is_retried_then_502(dev_client, real_client):
    def broken(request):
        body = json.dumps({"__type": "InternalServerError", "message": "oops"}).encode()
        return AWSResponse(request.url, 500, {"Content-Type": "application/x-amz-json-1.1"},
                           _Raw(body))
    attempts = real_client(broken)
    response = post(dev_client, BODY)
    assert len(attempts) == 3
    assert response.status_code == 502
    assert json.loads(response.body)["code"] == "ENGINE_ERROR"
