"""POST /enrolments, POST /search, GET and DELETE /enrolments/{subject_id}
on the local stage (offline engine, SQLite store in a temporary file),
through chalice.test.Client, with real faces: scikit-image's astronaut
(always available) and, where present, ../shared/faces."""

import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from chalice.test import Client

import app as app_module
from chalicelib.config.settings import load_settings
from chalicelib.tenants.registry import key_digest
from tests.support import face_images as fi
from tests.support.hostile_cases import CASES
from tests.support.images import b64
from tests.support.log_capture import captured_events

pytest.importorskip("dlib", reason="the offline engine (requirements-local.txt) is not installed")

KEY = "enrolment-test-key-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "enrolments.sqlite3"
    monkeypatch.setenv("IPS_DB_PATH", str(path))
    return path


@pytest.fixture
def settings_override(monkeypatch):
    """Stage settings for one test: on the local stage the environment wins
    over config.json's defaults (chalicelib/config/environment.py)."""
    def override(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return override


@pytest.fixture
def client(db_path):
    with Client(app_module.app, stage_name="local") as test_client:
        yield test_client


def card() -> str:
    return b64(fi.astronaut_card())


def selfie() -> str:
    return b64(fi.fs.jpeg_bytes(fi.astronaut()))


def enrol(client, subject_id, dl=None, selfie_b64=None, headers=None):
    body = {"subject_id": subject_id, "dl": dl or card(), "selfie": selfie_b64 or selfie()}
    return client.http.post("/enrolments", body=json.dumps(body),
                            headers={"Content-Type": "application/json", **(headers or {})})


def search(client, selfie_b64=None, headers=None):
    return client.http.post("/search", body=json.dumps({"selfie": selfie_b64 or selfie()}),
                            headers={"Content-Type": "application/json", **(headers or {})})


def body(response) -> dict:
    return json.loads(response.body)


def test_enrol_duplicate_search_metadata_erasure(client, db_path):
    first = enrol(client, "alice-01")
    assert first.status_code == 201, first.body
    result = body(first)
    assert (result["subject_id"], result["enrolled"], result["duplicates"]) == ("alice-01", True, [])
    assert (result["decision"], result["verified"], result["engine"]) == ("match", True, "local")
    assert "reasons" not in result or "DUPLICATE_FACE" not in result["reasons"]
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600

    again = enrol(client, "alice-01")             # a renewed licence: one more face
    assert again.status_code == 201 and body(again)["enrolled"] is True

    other = enrol(client, "mallory-7")           # the same face under another id
    assert other.status_code == 200
    result = body(other)
    assert (result["enrolled"], result["decision"], result["verified"]) == (False, "review", False)
    assert "DUPLICATE_FACE" in result["reasons"]
    assert [d["subject_id"] for d in result["duplicates"]] == ["alice-01"]
    assert result["duplicates"][0]["similarity"] >= load_settings().search.threshold

    found = search(client)
    assert found.status_code == 200
    matches = body(found)["matches"]
    assert [m["subject_id"] for m in matches] == ["alice-01"]
    assert 0 < matches[0]["similarity"] <= 100

    info = client.http.get("/enrolments/alice-01")
    assert info.status_code == 200
    meta = body(info)
    assert (meta["subject_id"], meta["faces"], meta["engine"]) == ("alice-01", 2, "local")
    assert len(meta["enrolments"]) == 2
    assert all(set(e) == {"enrolled_at", "model_version"} for e in meta["enrolments"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", meta["enrolments"][0]["enrolled_at"])
    assert client.http.get("/enrolments/mallory-7").status_code == 404

    erased = client.http.delete("/enrolments/alice-01")
    assert erased.status_code == 204 and erased.body in (b"", "")
    missing = client.http.delete("/enrolments/alice-01")
    assert (missing.status_code, body(missing)["code"]) == (404, "SUBJECT_NOT_FOUND")
    assert client.http.get("/enrolments/alice-01").status_code == 404
    assert body(search(client))["matches"] == []
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM faces").fetchone()[0] == 0
    assert enrol(client, "mallory-7").status_code == 201   # no longer a duplicate


def test_failed_verification_enrols_nothing(client, db_path, settings_override):
    settings_override(IPS_THRESHOLD="100", IPS_REVIEW_FLOOR="")   # the pair (99.9) no longer matches
    response = enrol(client, "bob")
    assert response.status_code == 200
    result = body(response)
    assert (result["enrolled"], result["decision"], result["duplicates"]) == (False, "no_match", [])
    assert client.http.get("/enrolments/bob").status_code == 404


def test_rejected_images_enrol_nothing(client):
    coffee = b64(fi.fs.jpeg_bytes(fi.no_face_photo()))
    response = enrol(client, "carol", selfie_b64=coffee)
    assert (response.status_code, body(response)["code"]) == (422, "NO_FACE")
    assert client.http.get("/enrolments/carol").status_code == 404
    response = search(client, coffee)
    assert (response.status_code, body(response)["code"], body(response)["field"]) == (
        422, "NO_FACE", "selfie")


@pytest.mark.parametrize("subject_id", [
    None, "", "a" * 65, "a b", "../etc", "-leading-dash", "x/y", "ümlaut", "a:b", 12, ["a"],
    "a\u0000b", "id\n"])
def test_bad_subject_id_is_400_before_the_images_are_read(client, subject_id):
    payload = {"dl": "not even base64!", "selfie": "x"}
    if subject_id is not None:
        payload["subject_id"] = subject_id
    response = client.http.post("/enrolments", body=json.dumps(payload),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert (body(response)["code"], body(response)["field"]) == ("INVALID_SUBJECT_ID", "subject_id")


@pytest.mark.parametrize("path", ["/enrolments/a%20b", "/enrolments/" + "x" * 65,
                                  "/enrolments/-x", "/enrolments/%C3%BC"])
def test_bad_subject_id_in_the_path_is_400(client, path):
    for method in ("get", "delete"):
        response = getattr(client.http, method)(path)
        assert response.status_code == 400, (method, path)
        assert body(response)["code"] == "INVALID_SUBJECT_ID"


def test_every_route_needs_the_key_when_the_built_in_check_is_on(client, settings_override):
    settings_override(IPS_API_KEY_SHA256=key_digest(KEY))
    calls = [lambda h: enrol(client, "dave", headers=h), lambda h: search(client, headers=h),
             lambda h: client.http.get("/enrolments/dave", headers=h),
             lambda h: client.http.delete("/enrolments/dave", headers=h)]
    for call in calls:
        refused = call({})
        assert refused.status_code == 401 and body(refused)["code"] == "UNAUTHORIZED"
    assert enrol(client, "dave", headers={"x-api-key": KEY}).status_code == 201
    assert client.http.get("/enrolments/dave", headers={"x-api-key": KEY}).status_code == 200


def test_unusable_store_is_a_clear_503(client, tmp_path, settings_override):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings_override(IPS_DB_PATH=str(blocker / "enrolments.sqlite3"))
    for response in (enrol(client, "erin"), search(client),
                     client.http.get("/enrolments/erin"), client.http.delete("/enrolments/erin")):
        assert response.status_code == 503
        assert body(response)["code"] == "STORE_UNAVAILABLE"


def test_routes_ask_api_gateway_for_the_key():
    routes = app_module.app.routes
    for path, method in [("/enrolments", "POST"), ("/search", "POST"),
                         ("/enrolments/{subject_id}", "GET"),
                         ("/enrolments/{subject_id}", "DELETE")]:
        assert routes[path][method].api_key_required is True, (path, method)


_B64_PREFIXES = ("/9j/", "iVBORw0KGgo", "R0lGOD", "UklGR")
_POST_CASES = [c for c in CASES if c.method == "POST"]


def _with_subject(raw: bytes) -> bytes:
    """The /ips hostile body with a valid subject_id added, when it is a JSON
    object whose first member can be prefixed; otherwise unchanged."""
    match = re.match(rb'^(\s*\{\s*)"', raw)
    if not match:
        return raw
    return match.group(1) + b'"subject_id": "hostile-1", ' + raw[match.end(1):]


@pytest.mark.parametrize("case", _POST_CASES, ids=[c.id for c in _POST_CASES])
def test_hostile_corpus_never_5xx(client, case):
    raw = case.body()
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    enrolled = _with_subject(raw)
    responses = [client.http.post("/enrolments", headers=headers, body=enrolled),
                 client.http.post("/search", headers=headers, body=raw)]
    for response in responses:
        text = response.body.decode("utf-8")
        assert response.status_code < 500, (case.id, text[:300])
        payload = json.loads(text)
        if response.status_code >= 400:
            assert set(payload) <= {"code", "message", "field", "request_id"}
            assert payload["code"] and payload["message"]
        assert not any(p in text for p in _B64_PREFIXES)
        assert "Traceback" not in text
    status, code = case.expected("local")
    if enrolled is not raw and status >= 400 and not case.engine:
        # rejected before the engine, /enrolments gives the /ips answer
        assert (responses[0].status_code, json.loads(responses[0].body)["code"]) == (
            status, code if isinstance(code, str) else json.loads(responses[0].body)["code"])


@fi.needs_shared_faces
def test_two_different_people_are_both_enrolled(client):
    shared = fi.SHARED_FACES
    pairs = [(shared / "face_recognition" / "obama.jpg"), (shared / "face_recognition" / "biden.jpg")]
    if not all(p.exists() for p in pairs):
        pytest.skip("obama.jpg / biden.jpg not in ../shared/faces")
    for name, path in zip(("obama", "biden"), pairs, strict=True):
        photo = b64(path.read_bytes())
        response = enrol(client, name, dl=photo, selfie_b64=photo)
        assert response.status_code == 201, body(response)
        assert body(response)["duplicates"] == []
    obama2 = shared / "face_recognition" / "obama2.jpg"
    if obama2.exists():
        matches = body(search(client, b64(obama2.read_bytes())))["matches"]
        assert [m["subject_id"] for m in matches] == ["obama"]


def test_responses_conform_to_the_contract(client):
    """Every kind of answer of the four routes validates against openapi.yaml."""
    import yaml
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    spec = OpenAPI.from_dict(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))

    def conforms(method, path, response, request_body=None):
        content_type = response.headers.get("Content-Type", "application/json")
        raw = response.body if response.body else b""
        request = MockRequest("http://127.0.0.1:8000", method, path,
                              headers={"Content-Type": "application/json"}, data=request_body)
        spec.validate_response(request, MockResponse(
            raw, status_code=response.status_code, headers=dict(response.headers),
            content_type=content_type if raw else None))

    enrol_body = json.dumps({"subject_id": "carl-1", "dl": card(), "selfie": selfie()})
    headers = {"Content-Type": "application/json"}
    for expected in (201, 200):            # enrolled, then a duplicate under another id
        if expected == 200:
            enrol_body = enrol_body.replace("carl-1", "carl-2")
        response = client.http.post("/enrolments", headers=headers, body=enrol_body)
        assert response.status_code == expected
        conforms("post", "/enrolments", response, enrol_body)
    bad = json.dumps({"subject_id": "a b", "dl": "x", "selfie": "y"})
    conforms("post", "/enrolments", client.http.post("/enrolments", headers=headers, body=bad), bad)
    search_body = json.dumps({"selfie": selfie()})
    conforms("post", "/search", client.http.post("/search", headers=headers, body=search_body),
             search_body)
    for method in ("get", "delete"):
        for path in ("/enrolments/carl-1", "/enrolments/nobody", "/enrolments/a%20b"):
            response = getattr(client.http, method)(path)
            assert response.status_code in (200, 204, 400, 404)
            conforms(method, path, response)


def test_logs_carry_a_pseudonym_of_the_subject_id_never_the_id_or_biometrics(client):
    import hashlib

    from chalicelib import backends
    from chalicelib.core.pseudonyms import pseudonym

    pepper = backends.root().settings().access.log_pepper

    with captured_events() as lines:
        enrol(client, "secret-customer-77")
        enrol(client, "other-customer-78")          # a duplicate
        search(client)
        client.http.get("/enrolments/secret-customer-77")
        client.http.delete("/enrolments/secret-customer-77")
    text = "\n".join(lines)
    events = [json.loads(line)["event"] for line in lines]
    assert {"enrolment", "search", "subject", "erasure"} <= set(events)
    assert "secret-customer-77" not in text and "other-customer-78" not in text
    assert pseudonym(pepper, "default", "secret-customer-77") in text
    # an HMAC under the secret pepper, not a plain hash anyone can recompute from a guess
    assert hashlib.sha256(b"secret-customer-77").hexdigest()[:16] not in text
    assert not any(p in text for p in _B64_PREFIXES)
    assert not re.search(r"(-?\d\.\d{4,}, ){8}", text)     # no descriptor-like number lists
