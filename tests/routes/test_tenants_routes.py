"""Tenants and scopes through chalice.test.Client (issue 17): the local
stage (offline engine, SQLite files in a temporary directory) with two
tenants in a 0600 tenants file. No or a wrong key 401; a key without the
route's scope 403 SCOPE_MISSING; neither tenant can read, search, overwrite
or erase the other's subjects (404, as an unknown id); Idempotency-Key on
POST /enrolments; no-store and nosniff on every API answer."""
import hashlib
import json
import os

import pytest
from chalice.test import Client

import app as app_module
from tests.support import face_images as fi
from tests.support.images import b64

pytest.importorskip("dlib", reason="the offline engine (requirements-local.txt) is not installed")

ACME = "acme-route-key-0123456789abcdef"
ACME_VERIFY_ONLY = "acme-verify-key-0123456789abcd"
GLOBEX = "globex-route-key-0123456789abcd"
ALL = ["verify", "documents", "enrol", "search", "erase", "review"]


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def client(tmp_path, monkeypatch):
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps({"tenants": [
        {"id": "acme", "keys": [{"id": "acme-all", "sha256": sha(ACME), "scopes": ALL},
                                {"id": "acme-web", "sha256": sha(ACME_VERIFY_ONLY),
                                 "scopes": ["verify"]}]},
        {"id": "globex", "keys": [{"id": "globex-all", "sha256": sha(GLOBEX), "scopes": ALL}]},
    ]}))
    os.chmod(tenants, 0o600)
    monkeypatch.setenv("IPS_TENANTS_FILE", str(tenants))
    monkeypatch.setenv("IPS_DB_PATH", str(tmp_path / "data" / "enrolments.sqlite3"))
    monkeypatch.setenv("IPS_DATA_DIR", str(tmp_path / "data"))
    with Client(app_module.app, stage_name="local") as test_client:
        yield test_client


def face_body(subject_id=None):
    body = {"dl": b64(fi.astronaut_card()), "selfie": b64(fi.fs.jpeg_bytes(fi.astronaut()))}
    return {**body, "subject_id": subject_id} if subject_id else body


def call(client, method, path, key=None, body=None, **headers):
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["x-api-key"] = key
    data = json.dumps(body) if body is not None else None
    return client.http.request(method, path, headers=sent, body=data)


def code(response):
    return json.loads(response.body)["code"]


PROTECTED = [("POST", "/ips", "verify"), ("POST", "/documents", "documents"),
             ("POST", "/enrolments", "enrol"), ("POST", "/search", "search"),
             ("GET", "/enrolments/cust-1", "enrol"), ("DELETE", "/enrolments/cust-1", "erase")]


@pytest.mark.parametrize("method, path, scope", PROTECTED)
def test_no_or_a_wrong_key_is_401_on_every_route(client, method, path, scope):
    for key in (None, "wrong-key-0123456789abcdefgh", ACME + "x", ""):
        response = call(client, method, path, key, {} if method == "POST" else None)
        assert (response.status_code, code(response)) == (401, "UNAUTHORIZED"), key
        assert response.headers["WWW-Authenticate"].startswith("ApiKey")


@pytest.mark.parametrize("method, path, scope", PROTECTED)
def test_a_key_without_the_scope_is_403_and_with_it_passes(client, method, path, scope):
    body = {} if method == "POST" else None
    refused = call(client, method, path, ACME_VERIFY_ONLY, body)
    if scope == "verify":
        assert (refused.status_code, code(refused)) == (400, "MISSING_FIELD")   # got through
    else:
        assert (refused.status_code, code(refused)) == (403, "SCOPE_MISSING")
        assert f'"{scope}"' in json.loads(refused.body)["message"]
    allowed = call(client, method, path, ACME, body)
    assert allowed.status_code in (400, 404), allowed.body              # past the scope check


def test_every_api_answer_is_no_store_and_nosniff(client):
    answers = [call(client, "POST", "/ips", ACME, {}),                   # 400
               call(client, "POST", "/ips", None, {}),                   # 401
               call(client, "POST", "/search", ACME_VERIFY_ONLY, {}),    # 403
               call(client, "GET", "/enrolments/nobody", ACME)]          # 404
    for response in answers:
        assert response.headers["Cache-Control"] == "no-store", response.status_code
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in response.headers     # plain HTTP locally


def test_hsts_on_the_cloud_stages(dev_client):
    response = dev_client.http.post("/ips", headers={"Content-Type": "application/json"},
                                    body="{}")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["Cache-Control"] == "no-store"


def test_a_body_without_content_type_is_415(client):
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": ""}):
        response = client.http.post("/ips", headers={"x-api-key": ACME, **headers}, body="{}")
        assert (response.status_code, code(response)) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_an_idempotent_retry_gets_the_first_answer_and_stores_once(client):
    key = {"Idempotency-Key": "enrol-7f3e"}
    first = call(client, "POST", "/enrolments", ACME, face_body("cust-1"), **key)
    assert first.status_code == 201, first.body
    again = call(client, "POST", "/enrolments", ACME, face_body("cust-1"), **key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(again.body) == json.loads(first.body)            # the first answer
    info = json.loads(call(client, "GET", "/enrolments/cust-1", ACME).body)
    assert info["faces"] == 1                                          # stored once
    other = call(client, "POST", "/enrolments", ACME, face_body("cust-2"), **key)
    assert (other.status_code, code(other)) == (422, "IDEMPOTENCY_KEY_REUSED")
    fresh = call(client, "POST", "/enrolments", ACME, face_body("cust-1"))
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert json.loads(call(client, "GET", "/enrolments/cust-1", ACME).body)["faces"] == 2


def test_neither_tenant_can_read_search_overwrite_or_erase_the_others(client):
    assert call(client, "POST", "/enrolments", ACME, face_body("cust-1")).status_code == 201
    # globex: the id is unknown to it (404, as any unknown id: no oracle)
    for method in ("GET", "DELETE"):
        response = call(client, method, "/enrolments/cust-1", GLOBEX)
        assert (response.status_code, code(response)) == (404, "SUBJECT_NOT_FOUND"), method
    found = json.loads(call(client, "POST", "/search", GLOBEX,
                            {"selfie": face_body()["selfie"]}).body)
    assert found["matches"] == []                                      # acme's face is not seen
    # the same id (and face) under globex is globex's own subject, no duplicate of acme's
    own = call(client, "POST", "/enrolments", GLOBEX, face_body("cust-1"))
    assert own.status_code == 201 and json.loads(own.body)["duplicates"] == []
    assert json.loads(call(client, "GET", "/enrolments/cust-1", ACME).body)["faces"] == 1
    assert call(client, "DELETE", "/enrolments/cust-1", GLOBEX).status_code == 204
    assert json.loads(call(client, "GET", "/enrolments/cust-1", ACME).body)["faces"] == 1
    matches = json.loads(call(client, "POST", "/search", ACME,
                              {"selfie": face_body()["selfie"]}).body)["matches"]
    assert [m["subject_id"] for m in matches] == ["cust-1"]


def test_idempotency_keys_are_per_tenant(client):
    key = {"Idempotency-Key": "shared-key-1"}
    assert call(client, "POST", "/enrolments", ACME, face_body("cust-9"), **key).status_code == 201
    other = call(client, "POST", "/enrolments", GLOBEX, face_body("cust-9"), **key)
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers


def test_cloud_stage_maps_the_api_gateway_key_id_through_ssm(dev_client, stage_env, monkeypatch):
    """API Gateway puts the key's id in requestContext.identity.apiKeyId;
    chalice's local gateway does not, so the test adds it to the event."""
    import boto3
    from chalice.local import LambdaEventConverter
    from moto import mock_aws

    from chalicelib.aws import clients

    real = LambdaEventConverter.create_lambda_event

    def with_key_id(self, method, path, headers, body=None):
        event = real(self, method, path, headers, body)
        key_id = headers.get("x-test-api-key-id")
        if key_id:
            event["requestContext"]["identity"]["apiKeyId"] = key_id
        return event

    monkeypatch.setattr(LambdaEventConverter, "create_lambda_event", with_key_id)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/ips/test/tenants/acme", Type="SecureString", Value=json.dumps(
            {"id": "acme", "keys": [{"api_key_id": "gw123", "scopes": ["documents"]}]}))
        stage_env(IPS_TENANTS_PARAMETER="/ips/test/tenants")
        with clients.override("ssm", ssm):
            def post(path, **headers):
                return dev_client.http.post(path, body="{}", headers={
                    "Content-Type": "application/json", **headers})
            assert code(post("/documents", **{"x-test-api-key-id": "gw123"})) == "MISSING_FIELD"
            assert code(post("/ips", **{"x-test-api-key-id": "gw123"})) == "SCOPE_MISSING"
            for headers in ({"x-test-api-key-id": "unmapped"}, {}, {"x-api-key": ACME}):
                assert code(post("/documents", **headers)) == "UNAUTHORIZED", headers
