"""openapi.yaml is a valid OpenAPI 3 document, is what GET /openapi.json
serves, documents every error code the code can raise, and real responses
(chalice.test.Client, dev stage, CompareFaces answered by a Stubber) conform
to it: status, content type, headers and body."""
import json
from pathlib import Path

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from chalicelib.core.errors import STATUS, Code
from tests.support.images import b64, image_bytes
from tests.support.rekognition_stub import BODY, DOCUMENT_PROBE, SAME_ORDER, answer

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
HOST = "http://127.0.0.1:8000"
KEY = "contract-test-key-0123456789"


@pytest.fixture(scope="module")
def openapi():
    return OpenAPI.from_dict(SPEC)


def test_spec_is_valid_openapi_3():
    validate(SPEC)


def test_served_json_is_the_yaml():
    served = json.loads((ROOT / "chalicelib" / "openapi.json").read_text(encoding="utf-8"))
    assert served == SPEC, "run: python -m scripts.ops.build_openapi"


def test_get_openapi_json(dev_client, openapi):
    response = dev_client.http.get("/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == SPEC
    check(openapi, "GET", "/openapi.json", response)


def _documented_codes():
    """{status: {codes}} from the code enums of every operation's responses
    (POST /ips has nearly all; GET /static/{name} has NOT_FOUND)."""
    responses = SPEC["components"]["responses"]
    documented = {}
    operations = [op for path in SPEC["paths"].values() for op in path.values()
                  if isinstance(op, dict) and "responses" in op]
    for status, response in ((s, r) for op in operations for s, r in op["responses"].items()):
        if "$ref" in response:
            response = responses[response["$ref"].rsplit("/", 1)[-1]]
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        # an error schema is allOf [Error, {code enum}], or anyOf such and API Gateway's
        alternatives = [schema, *schema.get("anyOf", [])]
        for part in (p for alt in alternatives for p in alt.get("allOf", [])):
            enum = part.get("properties", {}).get("code", {}).get("enum")
            if enum:
                documented.setdefault(int(status), set()).update(enum)
    return documented


def test_every_error_code_is_documented_with_its_status():
    documented = _documented_codes()
    missing = sorted((STATUS[code], str(code)) for code in Code
                     if str(code) not in documented.get(STATUS[code], set()))
    assert not missing, f"add these to openapi.yaml (status, code): {missing}"


def test_every_documented_code_exists():
    """And the other way round: openapi.yaml names no code the API lacks."""
    documented = {(status, code) for status, codes in _documented_codes().items()
                  for code in codes}
    assert documented <= {(STATUS[code], str(code)) for code in Code}


def check(openapi, method, path, response, request_body=None, request_headers=None):
    content_type = response.headers.get("Content-Type", "application/json")
    body = response.body
    if not content_type.startswith("application/json"):
        body = body.decode("utf-8")     # openapi-core only deserialises JSON bodies
    request = MockRequest(HOST, method.lower(), path, headers=request_headers or {},
                          data=request_body)
    mock = MockResponse(body, status_code=response.status_code,
                        headers=dict(response.headers), content_type=content_type)
    openapi.validate_response(request, mock)


def _ips(openapi, client, body, expected_status, expected_code=None,
         content_type="application/json", headers=None):
    raw = body if isinstance(body, bytes) else body.encode()
    all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
    response = client.http.post("/ips", headers=all_headers, body=raw)
    assert response.status_code == expected_status, response.body
    if expected_code:
        assert json.loads(response.body)["code"] == expected_code
    check(openapi, "POST", "/ips", response, raw, all_headers)
    return response


def doc(**fields):
    return json.dumps(fields)


PDF = b"%PDF-1.4 " + b"x" * 200


@pytest.mark.parametrize("body, status, code, content_type", [
    (b"", 400, "EMPTY_BODY", "application/json"),
    (b"{not json", 400, "INVALID_JSON", "application/json"),
    (b"[1, 2]", 400, "INVALID_JSON", "application/json"),
    (doc(selfie=b64(image_bytes())), 400, "MISSING_FIELD", "application/json"),
    (doc(dl=12, selfie="x"), 400, "INVALID_FIELD_TYPE", "application/json"),
    (doc(dl="https://example.com/a.jpg", selfie="x"), 400, "INVALID_BASE64", "application/json"),
    (doc(dl=b64(b"\xff\xd8\xff" + b"\0" * 40), selfie=b64(image_bytes())), 400,
     "INVALID_IMAGE", "application/json"),
    (b"x" * (6 * 1024 * 1024 + 1), 413, "BODY_TOO_LARGE", "application/json"),
    (doc(dl="A" * (7 * 1024 * 1024 + 8), selfie="x"), 413, "BODY_TOO_LARGE", "application/json"),
    (b"dl=1", 415, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded"),
    (doc(dl=b64(PDF), selfie=b64(image_bytes())), 415, "UNSUPPORTED_IMAGE_FORMAT",
     "application/json"),
    (doc(dl=b64(image_bytes(79, 200)), selfie=b64(image_bytes())), 422, "IMAGE_TOO_SMALL",
     "application/json"),
])
def test_rejections_conform(dev_client, openapi, body, status, code, content_type):
    _ips(openapi, dev_client, body, status, code, content_type)


@pytest.mark.parametrize("similarity, env", [(99.2, {}), (70.0, {"IPS_REVIEW_FLOOR": "60"}),
                                             (3.5, {})])
def test_success_conforms(dev_client, openapi, rekognition, stage_env, similarity, env):
    stage_env(**env)
    rekognition.add_response("compare_faces", answer(similarity), SAME_ORDER)
    _ips(openapi, dev_client, BODY, 200)


def test_best_match_with_several_faces_conforms(dev_client, openapi, rekognition, stage_env):
    stage_env(IPS_MULTI_FACE="best_match")
    rekognition.add_response("compare_faces", answer(40.0, 90.0, unmatched=1), SAME_ORDER)
    body = json.loads(_ips(openapi, dev_client, BODY, 200).body)
    assert body["faces_in_selfie"] == 3


def test_engine_answers_conform(dev_client, openapi, rekognition):
    rekognition.add_client_error("compare_faces", "InvalidParameterException", "x", 400,
                                 expected_params=SAME_ORDER)
    rekognition.add_client_error("compare_faces", "InvalidParameterException", "x", 400,
                                 expected_params=DOCUMENT_PROBE)
    _ips(openapi, dev_client, BODY, 422, "NO_FACE")
    rekognition.add_response("compare_faces", answer(90.0, 20.0), SAME_ORDER)
    _ips(openapi, dev_client, BODY, 422, "MULTIPLE_FACES")
    rekognition.add_client_error("compare_faces", "ThrottlingException", "x", 400,
                                 expected_params=SAME_ORDER)
    response = _ips(openapi, dev_client, BODY, 503, "ENGINE_BUSY")
    assert response.headers["Retry-After"].isdigit()
    rekognition.add_client_error("compare_faces", "ImageTooLargeException", "x", 400,
                                 expected_params=SAME_ORDER)
    _ips(openapi, dev_client, BODY, 413, "IMAGE_TOO_LARGE")
    rekognition.add_client_error("compare_faces", "InternalServerError", "x", 500,
                                 expected_params=SAME_ORDER)
    _ips(openapi, dev_client, BODY, 502, "ENGINE_ERROR")


def test_unauthorized_and_internal_error_conform(dev_client, openapi, stage_env, fake_services):
    stage_env(IPS_API_KEYS=KEY)
    response = _ips(openapi, dev_client, BODY, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"]
    class Broken:
        name = "broken"

        def compare(self, document, selfie):
            raise KeyError("bug")
    fake_services(faces=Broken())
    _ips(openapi, dev_client, BODY, 500, "INTERNAL_ERROR", headers={"x-api-key": KEY})


def test_preflight_conforms(dev_client, openapi, stage_env):
    stage_env(IPS_CORS_ORIGINS="https://app.example.com")
    headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    response = dev_client.http.request("OPTIONS", "/ips", headers=headers)
    assert response.status_code == 204
    check(openapi, "OPTIONS", "/ips", response, None, headers)


@pytest.mark.parametrize("path, status", [
    ("/", 200), ("/static/js/main.js", 200), ("/static/style.css", 200),
    ("/static/js/messages.js", 200), ("/static/app.js", 404), ("/static/js/nope.js", 404),
    ("/static/nope.txt", 404), ("/static/..%2Fapp.py", 404),
])
def test_web_page_routes_conform(dev_client, openapi, path, status):
    response = dev_client.http.get(path)
    assert response.status_code == status
    check(openapi, "GET", path, response)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_wrong_method_answer_conforms(dev_client, openapi, method):
    response = dev_client.http.request(method, "/ips", headers={"Content-Type": "application/json"},
                                       body=b"{}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"
    # The 405 is documented under POST /ips (OpenAPI lists responses per operation).
    check(openapi, "POST", "/ips", response, b"{}", {"Content-Type": "application/json"})
