"""POST /ips with document reading (IPS_DOCUMENT off | read | enforce) and
POST /documents, through chalice.test.Client on the dev stage: CompareFaces
and AnalyzeID answered by Stubbers that check the parameters sent, "today"
injected. Responses are validated against openapi.yaml."""

import json
import threading
from datetime import date
from pathlib import Path

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from chalicelib.config.settings import load_settings
from chalicelib.documents.base import DocumentRead
from tests.support.images import b64
from tests.support.rekognition_stub import DL, SAME_ORDER, SELFIE, answer
from tests.support.textract_stub import LICENCE, PASSPORT, analyze_params

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 27)
OPENAPI = OpenAPI.from_dict(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))
JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def fixed_today(fake_services):
    fake_services(today=lambda: TODAY)


def conforms(path: str, body: bytes, response) -> dict:
    request = MockRequest("http://127.0.0.1:8000", "post", path, headers=JSON, data=body)
    OPENAPI.validate_response(request, MockResponse(
        response.body, status_code=response.status_code, headers=dict(response.headers),
        content_type=response.headers.get("Content-Type", "application/json")))
    return json.loads(response.body)


def ips(client, **extra) -> dict:
    body = json.dumps({"dl": b64(DL), "selfie": b64(SELFIE), **extra}).encode()
    response = client.http.post("/ips", headers=JSON, body=body)
    assert response.status_code == 200, response.body
    return conforms("/ips", body, response)


def documents(client, payload: dict, status: int = 200) -> dict:
    body = json.dumps(payload).encode()
    response = client.http.post("/documents", headers=JSON, body=body)
    assert response.status_code == status, response.body
    return conforms("/documents", body, response)


def queue(rekognition, textract, similarity: float, analyze):
    rekognition.add_response("compare_faces", answer(similarity), SAME_ORDER)
    if isinstance(analyze, str):
        textract.add_client_error("analyze_id", analyze, "x", 400,
                                  expected_params=analyze_params(DL))
    else:
        textract.add_response("analyze_id", analyze, analyze_params(DL))


def test_read_mode_reports_but_decides_on_faces(dev_client, rekognition, textract, stage_env):
    stage_env(IPS_DOCUMENT="read")
    queue(rekognition, textract, 99.0, PASSPORT)          # the specimen expired in 2012
    body = ips(dev_client)
    assert (body["verified"], body["decision"], body["reasons"]) == (True, "match", [])
    document = body["document"]
    assert (document["read"], document["source"], document["type"], document["mrz_format"]) == (
        True, "mrz", "passport", "TD3")
    assert document["fields"]["date_of_birth"] == "1974-08-12"
    assert document["checks"] == {"check_digits": "pass", "expired": True,
                                  "minimum_age": None, "expected_data": None}


def test_enforce_downgrades_expired_document(dev_client, rekognition, textract, stage_env):
    stage_env(IPS_DOCUMENT="enforce")
    queue(rekognition, textract, 99.0, PASSPORT)
    body = ips(dev_client)
    assert (body["verified"], body["decision"], body["reasons"]) == (
        False, "no_match", ["DOCUMENT_EXPIRED"])


def test_enforce_valid_licence_of_age_verifies(dev_client, rekognition, textract, stage_env):
    stage_env(IPS_DOCUMENT="enforce", IPS_MIN_AGE="18")
    queue(rekognition, textract, 99.0, LICENCE)
    body = ips(dev_client, expected={"surname": "Souza", "given_names": "jorge",
                                     "date_of_birth": "1978-03-18"})
    assert (body["verified"], body["decision"], body["reasons"]) == (True, "match", [])
    assert body["document"]["source"] == "textract"
    assert body["document"]["checks"] == {"check_digits": None, "expired": False,
                                          "minimum_age": "pass", "expected_data": "pass"}


def test_enforce_expected_data_mismatch_goes_to_review(dev_client, rekognition, textract,
                                                       stage_env):
    stage_env(IPS_DOCUMENT="enforce")
    queue(rekognition, textract, 99.0, LICENCE)
    body = ips(dev_client, expected={"date_of_birth": "1978-03-19"})
    assert (body["verified"], body["decision"], body["reasons"]) == (
        False, "review", ["EXPECTED_DATA_MISMATCH"])


def test_enforce_lists_every_failed_check(dev_client, rekognition, textract, stage_env):
    stage_env(IPS_DOCUMENT="enforce", IPS_MIN_AGE="50")
    queue(rekognition, textract, 99.0, LICENCE)
    body = ips(dev_client, expected={"surname": "Sousa"})
    assert (body["verified"], body["decision"]) == (False, "no_match")
    assert body["reasons"] == ["UNDER_MINIMUM_AGE", "EXPECTED_DATA_MISMATCH"]


@pytest.mark.parametrize("mode, decision, reasons", [
    ("read", "match", []), ("enforce", "review", ["DOCUMENT_UNREADABLE"])])
def test_throttled_textract_never_breaks_verification(dev_client, rekognition, textract,
                                                      stage_env, mode, decision, reasons):
    stage_env(IPS_DOCUMENT=mode)
    queue(rekognition, textract, 99.0, "ProvisionedThroughputExceededException")
    body = ips(dev_client)
    assert (body["decision"], body["reasons"], body["similarity"]) == (decision, reasons, 99.0)
    assert body["document"] == {
        "read": False, "source": None, "type": "unknown", "mrz_format": None, "fields": {},
        "checks": {"check_digits": None, "expired": None, "minimum_age": None,
                   "expected_data": None}, "reason": "throttled"}


def test_face_no_match_stays_no_match(dev_client, rekognition, textract, stage_env):
    stage_env(IPS_DOCUMENT="enforce")
    queue(rekognition, textract, 12.0, LICENCE)
    body = ips(dev_client)
    assert (body["verified"], body["decision"], body["reasons"]) == (False, "no_match", [])


def test_off_reads_nothing_and_answers_as_before(dev_client, rekognition, stage_env):
    stage_env(IPS_DOCUMENT="off")
    rekognition.add_response("compare_faces", answer(99.0), SAME_ORDER)
    body = ips(dev_client)   # the textract Stubber has nothing queued: a call would fail
    assert "document" not in body and body["reasons"] == []
    assert (body["verified"], body["decision"]) == (True, "match")


class BlockedReader:
    """A reader that holds until released: the read outlives the bounded wait."""
    name = "blocked"

    def __init__(self) -> None:
        self.release = threading.Event()

    def read(self, image, today):
        self.release.wait(timeout=30)
        return DocumentRead.unread("unreadable")


class BrokenReader:
    name = "broken"

    def read(self, image, today):
        raise RuntimeError("a bug in a reader")


def test_reader_timeout_is_bounded_and_face_answer_stands(dev_client, rekognition, stage_env,
                                                         fake_services):
    stage_env(IPS_DOCUMENT="enforce", IPS_DOCUMENT_TIMEOUT_S="0.05")
    reader = BlockedReader()
    fake_services(reader=reader)
    rekognition.add_response("compare_faces", answer(99.0), SAME_ORDER)
    try:
        body = ips(dev_client)
    finally:
        reader.release.set()
    assert body["document"]["reason"] == "timeout"
    assert (body["decision"], body["reasons"], body["similarity"]) == (
        "review", ["DOCUMENT_UNREADABLE"], 99.0)


def test_reader_bug_is_read_false_not_a_500(dev_client, rekognition, stage_env, fake_services):
    stage_env(IPS_DOCUMENT="read")
    fake_services(reader=BrokenReader())
    rekognition.add_response("compare_faces", answer(99.0), SAME_ORDER)
    body = ips(dev_client)
    assert (body["document"]["read"], body["document"]["reason"]) == (False, "reader_error")
    assert body["decision"] == "match"


def test_bad_expected_is_a_400(dev_client, stage_env):
    body = json.dumps({"dl": b64(DL), "selfie": b64(SELFIE),
                       "expected": {"date_of_birth": "18/03/1978"}})
    response = dev_client.http.post("/ips", headers=JSON, body=body)
    assert response.status_code == 400
    assert json.loads(response.body)["field"] == "expected"


def test_stage_defaults_read_read_enforce():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    modes = {stage: {**values.get("ips_defaults", {}), **values["environment_variables"]}
             .get("IPS_DOCUMENT") for stage, values in config["stages"].items()}
    assert modes == {"local": "read", "dev": "read", "prod": "enforce"}
    assert load_settings({"IPS_CHALICE_STAGE": "local"}).documents.mode == "read"


def test_policies_allow_analyze_id_and_nothing_more_of_textract():
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        actions = [a for s in policy["Statement"] for a in s["Action"] if a.startswith("textract:")]
        assert actions == ["textract:AnalyzeID"]


# --- POST /documents ----------------------------------------------------------

def test_documents_reads_alone(dev_client, textract, stage_env):
    stage_env(IPS_MIN_AGE="18")
    textract.add_response("analyze_id", LICENCE, analyze_params(DL))
    body = documents(dev_client, {"dl": b64(DL)})
    assert set(body) == {"document", "request_id"}
    assert body["document"]["fields"]["surname"] == "SOUZA"
    assert body["document"]["checks"]["minimum_age"] == "pass"


def test_documents_with_expected(dev_client, textract):
    textract.add_response("analyze_id", PASSPORT, analyze_params(DL))
    body = documents(dev_client, {"dl": b64(DL), "expected": {"surname": "Eriksson",
                                                              "given_names": "Maria Anna"}})
    assert body["document"]["checks"]["expected_data"] == "pass"


def test_documents_when_reading_is_off(dev_client, stage_env):
    stage_env(IPS_DOCUMENT="off")
    body = documents(dev_client, {"dl": b64(DL)})
    assert (body["document"]["read"], body["document"]["reason"]) == (False, "disabled")


@pytest.mark.parametrize("payload, status, code", [
    ({}, 400, "MISSING_FIELD"),
    ({"dl": 12}, 400, "INVALID_FIELD_TYPE"),
    ({"dl": "not base64!"}, 400, "INVALID_BASE64"),
    ({"dl": b64(b"%PDF-1.4 " + b"x" * 200)}, 415, "UNSUPPORTED_IMAGE_FORMAT"),
    ({"dl": b64(DL), "expected": "Eriksson"}, 400, "INVALID_FIELD_TYPE"),
])
def test_documents_errors_are_the_ips_errors(dev_client, payload, status, code):
    body = documents(dev_client, payload, status)
    assert body["code"] == code


def test_documents_wrong_content_type(dev_client):
    response = dev_client.http.post("/documents", headers={"Content-Type": "text/plain"},
                                    body=b"{}")
    assert response.status_code == 415


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_documents_wrong_method_is_the_apis_405(dev_client, method):
    response = dev_client.http.request(method, "/documents", headers=JSON, body=b"{}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"
    assert json.loads(response.body)["code"] == "METHOD_NOT_ALLOWED"


def test_documents_preflight_needs_no_key(dev_client, stage_env):
    stage_env(IPS_CORS_ORIGINS="https://app.example.com")
    response = dev_client.http.request("OPTIONS", "/documents", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
