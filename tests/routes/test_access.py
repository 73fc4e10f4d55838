"""The built-in API-key check and the CORS allow-list (chalicelib/http/auth.py),
through chalice.test.Client on the dev stage."""
import json

import pytest

from chalicelib.config.settings import load_settings
from chalicelib.tenants.registry import key_digest
from chalicelib.tenants.sources import TenantOptions

KEY = "k3y-for-tests-0123456789abcdef"
OTHER_KEY = "another-key-0123456789abcdefgh"
ORIGIN = "https://app.example.com"


def call(client, body=b"{}", **headers):
    return client.http.post("/ips", headers={"Content-Type": "application/json", **headers},
                            body=body)


def test_off_by_default(dev_client):
    settings = load_settings({})
    assert settings.access.tenants == TenantOptions() and settings.access.cors_origins == ()
    response = call(dev_client)              # reaches the decoder: no 401
    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers


@pytest.mark.parametrize("headers, message", [
    ({}, "An API key is required in the x-api-key header."),
    ({"x-api-key": "wrong-key-0123456789abcdef"}, "A valid API key is required in the x-api-key header."),
    ({"x-api-key": ""}, "An API key is required in the x-api-key header."),
    ({"x-api-key": KEY + "x"}, "A valid API key is required in the x-api-key header."),
    ({"x-api-key": "x" * 10_000}, "A valid API key is required in the x-api-key header."),
    ({"Authorization": "Bearer " + KEY}, "An API key is required in the x-api-key header."),
])
def test_missing_or_wrong_key_is_401(dev_client, stage_env, headers, message):
    stage_env(IPS_API_KEY_SHA256=key_digest(KEY))
    response = call(dev_client, **headers)
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body == {"code": "UNAUTHORIZED", "message": message,
                    "request_id": response.headers["X-Request-Id"]}
    assert response.headers["WWW-Authenticate"] == 'ApiKey realm="ips", header="x-api-key"'


@pytest.mark.parametrize("env", [
    {"IPS_API_KEY_SHA256": key_digest(OTHER_KEY) + "," + key_digest(KEY).upper()},
    {"IPS_API_KEYS": f"{OTHER_KEY}, {KEY}"},
    {"IPS_API_KEYS": OTHER_KEY, "IPS_API_KEY_SHA256": key_digest(KEY)},
])
def test_valid_key_passes_to_the_handler(dev_client, stage_env, env):
    stage_env(**env)
    for header in ("x-api-key", "X-API-Key"):
        response = call(dev_client, **{header: KEY})
        assert response.status_code == 400               # the empty {} body, not 401
        assert json.loads(response.body)["code"] == "MISSING_FIELD"


def test_key_check_happens_before_the_body_is_read(dev_client, stage_env):
    stage_env(IPS_API_KEYS=KEY)
    response = call(dev_client, body=b"x" * (7 * 1024 * 1024))   # over the body limit
    assert response.status_code == 401


def test_refusal_is_logged_without_the_key(dev_client, stage_env, caplog):
    import logging

    from chalicelib.core.logs import logger
    stage_env(IPS_API_KEYS=KEY)
    logger.propagate = True
    try:
        with caplog.at_level(logging.INFO, logger="ips.events"):
            call(dev_client, **{"x-api-key": "guess-0123456789-abcdefghij"})
    finally:
        logger.propagate = False
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ips.events"]
    assert lines[-1]["event"] == "unauthorized" and lines[-1]["reason"] == "invalid_key"
    assert "guess" not in caplog.text


# The constant-time comparison: tests/unit/test_tenants.py.


@pytest.mark.parametrize("env", [
    {"IPS_API_KEY_SHA256": "not-a-digest"},
    {"IPS_API_KEY_SHA256": "ab" * 31},
    {"IPS_API_KEYS": "short"},
    {"IPS_CORS_ORIGINS": "*"},
    {"IPS_CORS_ORIGINS": "https://*.example.com"},
    {"IPS_CORS_ORIGINS": "https://app.example.com/path"},
    {"IPS_CORS_ORIGINS": "app.example.com"},
])
def test_malformed_access_settings_fail_at_start_up(env):
    with pytest.raises(ValueError):
        load_settings(env)


def test_cors_allowed_origin_is_echoed(dev_client, stage_env):
    stage_env(IPS_CORS_ORIGINS=f"{ORIGIN}/, http://localhost:3000")
    response = call(dev_client, Origin=ORIGIN)
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Vary"] == "Origin"
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]


def test_cors_on_success_and_on_401(dev_client, stage_env, rekognition, good_body):
    from tests.support.rekognition_stub import BODY, SAME_ORDER, answer
    stage_env(IPS_CORS_ORIGINS=ORIGIN, IPS_API_KEYS=KEY)
    denied = call(dev_client, Origin=ORIGIN)
    assert denied.status_code == 401
    assert denied.headers["Access-Control-Allow-Origin"] == ORIGIN   # the page can read the error
    rekognition.add_response("compare_faces", answer(95.0), SAME_ORDER)
    ok = call(dev_client, body=BODY, Origin=ORIGIN, **{"x-api-key": KEY})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example.com", "http://app.example.com",
                                    "https://app.example.com.evil.com", "null"])
def test_cors_other_origins_get_no_allow_header(dev_client, stage_env, origin):
    stage_env(IPS_CORS_ORIGINS=ORIGIN)
    response = call(dev_client, Origin=origin)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_preflight_allowed(dev_client, stage_env):
    stage_env(IPS_CORS_ORIGINS=ORIGIN, IPS_API_KEYS=KEY)     # the preflight needs no key
    response = dev_client.http.request("OPTIONS", "/ips", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Api-Key"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("env, headers", [
    ({}, {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}),       # CORS off
    ({"IPS_CORS_ORIGINS": ORIGIN}, {"Origin": "https://evil.example.com",
                                    "Access-Control-Request-Method": "POST"}),
    ({"IPS_CORS_ORIGINS": ORIGIN}, {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}),
    ({"IPS_CORS_ORIGINS": ORIGIN}, {}),
])
def test_preflight_refused(dev_client, stage_env, env, headers):
    stage_env(**env)
    response = dev_client.http.request("OPTIONS", "/ips", headers=headers)
    assert response.status_code == 204
    assert not any(h.lower().startswith("access-control-") for h in response.headers)
    assert response.headers["Allow"] == "POST, OPTIONS"


def test_api_key_required_by_api_gateway_on_post_only():
    from app import app
    assert app.routes["/ips"]["POST"].api_key_required is True
    assert not app.routes["/ips"]["OPTIONS"].api_key_required
