"""Schemathesis against the real service: `chalice local --stage local` (the
offline engine) in a subprocess, fuzzed from the served /openapi.json. No
5xx, and every response conforms to the contract (status, content type,
headers, body); `ignored_auth` checks that the built-in key check cannot be
bypassed. Then real face photos go through the same server and their
answers are validated against the contract too.

Bounded: SCHEMATHESIS_MAX_EXAMPLES (default 100) cases per operation and
phase, two workers, fixed seed (SCHEMATHESIS_SEED to vary it); about 40 s
on two cores (~330 requests)."""
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.support.calls import SHARED_FACES
from tests.support.images import b64, image_bytes
from tests.support.local_server import running_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = "schemathesis-key-0123456789"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,ignored_auth")
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261126")


def _get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("chalice-local") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The enrolment routes write: to a temporary store, never the default one.
    env.update(IPS_API_KEYS=KEY, IPS_LOG_LEVEL="INFO",
               IPS_DB_PATH=str(log.parent / "enrolments.sqlite3"))
    with running_server(log, env=env, ready_path="/openapi.json") as base:
        yield base, log


def test_schemathesis_finds_no_server_error_and_no_contract_violation(server, tmp_path):
    base, log = server
    command = [str(BIN / "st"), "--config-file", str(ROOT / "tests" / "system" / "schemathesis.toml"),
               "run", base + "/openapi.json", "--url", base,
               "--checks", CHECKS, "--header", f"x-api-key: {KEY}",
               "--max-examples", str(MAX_EXAMPLES), "--workers", "2", "--seed", SEED,
               "--generation-database", "none", "--request-timeout", "60",
               # Hypothesis' only wall-clock health check: a busy machine is
               # not a bug. The data-based ones stay on.
               "--suppress-health-check", "too_slow",
               "--no-color", "--report", "junit", "--report-junit-path",
               str(tmp_path / "schemathesis-junit.xml")]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # cwd: st keeps a cache (.schemathesis/) in its working directory; keep
    # it out of the repository, where it would also restart autoreloading servers.
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    print(output[-3000:])
    server_log = log.read_text(errors="replace")
    tracebacks = server_log[server_log.find("Traceback"):][:5000] if "Traceback" in server_log else ""
    server_errors = [line for line in server_log.splitlines()
                     if '"status":5' in line or '"internal_error"' in line]
    assert result.returncode == 0, output[-20000:] + "\n--- server tracebacks ---\n" + tracebacks + \
        "\n--- server 5xx log lines ---\n" + "\n".join(server_errors[:20])
    assert generated and int(generated.group(1)) >= 100, output[-3000:]
    # What the server saw: how far requests got (engine_ms: the engine ran).
    events = [json.loads(line) for line in server_log.splitlines() if line.startswith('{"event"')]
    statuses = {}
    for event in events:
        key = event.get("code") or event.get("decision") or event["event"]
        statuses[key] = statuses.get(key, 0) + 1
    print("server outcomes:", dict(sorted(statuses.items())),
          "engine runs:", sum("engine_ms" in e for e in events))
    assert not tracebacks, tracebacks


# --- real photos through the offline engine, validated against the contract --

def _face(name: str) -> bytes:
    path = SHARED_FACES / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path.read_bytes()


def _post(base: str, body: bytes, headers: dict):
    request = urllib.request.Request(base + "/ips", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def openapi():
    return OpenAPI.from_dict(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))


@pytest.mark.parametrize("dl, selfie, key, statuses, code", [
    ("deepface/img1.jpg", "deepface/img2.jpg", KEY, {200}, None),
    ("deepface/img1.jpg", "deepface/img12.jpg", KEY, {200}, None),
    ("face_recognition/obama.jpg", "face_recognition/two_people.jpg", KEY, {200, 422}, None),
    ("face_recognition/obama.jpg", "<plain>", KEY, {422}, "NO_FACE"),
    ("deepface/img1.jpg", "deepface/img2.jpg", None, {401}, "UNAUTHORIZED"),
    ("deepface/img1.jpg", "deepface/img2.jpg", "wrong-key-0123456789abc", {401}, "UNAUTHORIZED"),
])
def test_real_photos_on_the_local_engine_conform(server, openapi, dl, selfie, key,
                                                 statuses, code):
    base, _ = server
    selfie_bytes = image_bytes(300, 400) if selfie == "<plain>" else _face(selfie)
    body = json.dumps({"dl": b64(_face(dl)), "selfie": b64(selfie_bytes)}).encode()
    headers = {"Content-Type": "application/json", **({"x-api-key": key} if key else {})}
    status, response_headers, data = _post(base, body, headers)
    assert status in statuses, data
    payload = json.loads(data)
    if code:
        assert payload["code"] == code
    if status == 200:
        assert payload["engine"] == "local"
    openapi.validate_response(
        MockRequest("http://127.0.0.1:8000", "post", "/ips", headers=headers, data=body),
        MockResponse(data, status_code=status, headers=response_headers,
                     content_type=response_headers.get("Content-Type", "application/json")))
