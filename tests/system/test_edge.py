"""`make run`'s server fails closed (issue 17): a real chalicelib.serve
process on a free 127.0.0.1 port, with two tenants in a 0600 tenants file.
The Host allow-list, the safe headers, /metrics behind an operator key,
no temporary file for a 4 MB body, and a keyless start on a non-loopback
address refused. Waits are on log events and pipes, never on time."""
import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest

from tests.support.images import b64, image_bytes
from tests.support.server_process import GUARD_S, ROOT, Server, verification_body

ACME_KEY = "acme-system-key-0123456789abcdef"
GLOBEX_KEY = "globex-system-key-0123456789abcd"
METRICS_KEY = "metrics-operator-key-0123456789ab"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def tenants_file(directory):
    path = directory / "tenants.json"
    path.write_text(json.dumps({"tenants": [
        {"id": "acme", "keys": [{"id": "acme-web", "sha256": sha(ACME_KEY),
                                 "scopes": ["verify", "documents", "enrol", "search", "erase"]}]},
        {"id": "globex", "keys": [{"id": "globex-ro", "sha256": sha(GLOBEX_KEY),
                                   "scopes": ["documents"]}]},
    ]}))
    os.chmod(path, 0o600)
    return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edge")
    started = Server({"IPS_TENANTS_FILE": tenants_file(tmp),
                      "IPS_METRICS_KEY_SHA256": sha(METRICS_KEY),
                      "IPS_DB_PATH": str(tmp / "data" / "enrolments.sqlite3"),
                      "IPS_DATA_DIR": str(tmp / "data")})
    yield started
    started.kill()


def post(server, path="/ips", body=None, key=ACME_KEY, **headers):
    headers = {"Content-Type": "application/json", "x-api-key": key, **headers}
    return server.request("POST", path, verification_body() if body is None else body,
                          {k: v for k, v in headers.items() if v is not None})


def test_a_foreign_host_is_421_and_loopback_names_are_served(server):
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]"):
        status, _, body = post(server, body=b"{}", Host=host)
        assert (status, json.loads(body)["code"]) == (421, "HOST_NOT_ALLOWED"), host
        assert host.split(":")[0] not in body.decode()          # the Host is never echoed
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "LOCALHOST"):
        status, _, body = post(server, body=b"{}", Host=host)
        assert (status, json.loads(body)["code"]) == (400, "MISSING_FIELD"), host
    # probes stay open whatever the Host (a load balancer's health check)
    assert server.request("GET", "/health", headers={"Host": "10.1.2.3:8000"})[0] == 200


def test_every_answer_is_no_store_and_nosniff(server):
    answers = [
        post(server, body=b"{}"),                                   # an API error from the app
        post(server, body=b"{}", key="wrong-key-0123456789abcdef"),  # 401
        server.request("POST", "/ips", b"x" * 10, {"Content-Length": "99999999999",
                                                   "Content-Type": "application/json"}),
        server.request("GET", "/health"),
    ]
    for status, headers, _ in answers:
        assert headers.get("X-Content-Type-Options") == "nosniff", status
        assert headers.get("Cache-Control") == "no-store", status
    for path in ("/", "/openapi.json"):                   # public files: revalidated, not secret
        headers = server.request("GET", path)[1]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-cache"


def test_metrics_need_the_operator_key_not_a_tenant_key(server):
    for headers in ({}, {"Authorization": f"Bearer {ACME_KEY}"}, {"x-api-key": ACME_KEY},
                    {"Authorization": f"Basic {METRICS_KEY}"}):
        status, _, body = server.request("GET", "/metrics", headers=headers)
        assert (status, json.loads(body)["code"]) == (401, "UNAUTHORIZED")
    status, headers, body = server.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
    assert status == 200 and b"ips_http_requests_total" in body


def test_no_temporary_file_holds_a_4_mb_body(tmp_path):
    """The body sits in waitress's buffer while the (gated) engine runs: with
    waitress's defaults it would be a file in TMPDIR by then."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    gated = Server({"TMPDIR": str(tmp)}, gated=True)
    try:
        body = json.dumps({"dl": b64(image_bytes(400, 300)),
                           "selfie": b64(image_bytes(300, 400, "PNG")),
                           "padding": "p" * (4 * 1024 * 1024)}).encode()
        assert len(body) > 4 * 1024 * 1024
        answer = {}
        thread = threading.Thread(target=lambda: answer.update(
            r=gated.request("POST", "/ips", body, {"Content-Type": "application/json"})))
        thread.start()
        gated.wait_entered(1)                   # the whole body received, request in the app
        fds = f"/proc/{gated.process.pid}/fd"
        targets = [os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)]
        assert not [t for t in targets if t.startswith(str(tmp))], targets
        assert list(tmp.iterdir()) == []
        gated.release(1)
        thread.join(GUARD_S)
        assert answer["r"][0] == 200
    finally:
        gated.kill()


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_keyless_start_on_a_public_address_is_refused(host):
    env = {k: v for k, v in os.environ.items()
           if k not in ("IPS_API_KEYS", "IPS_API_KEY_SHA256", "IPS_TENANTS_FILE")}
    done = subprocess.run([sys.executable, "-m", "chalicelib.serve", "--host", host,
                           "--port", "0"], cwd=ROOT, capture_output=True, timeout=GUARD_S,
                          env={**env, "IPS_PRELOAD_MODELS": "0", "AWS_DEFAULT_REGION": "us-east-1"})
    assert done.returncode == 2
    events = [json.loads(line) for line in done.stderr.decode().splitlines()]
    refused = [e for e in events if e["event"] == "startup_refused"]
    assert refused and "IPS_API_KEYS" in refused[0]["reason"]
    assert "IPS_TENANTS_FILE" in refused[0]["reason"]
    assert not [e for e in events if e["event"] == "server_start"]


def test_a_malformed_tenants_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"tenants": [{"id": "acme"}]}')
    os.chmod(path, 0o600)
    done = subprocess.run([sys.executable, "-m", "chalicelib.serve", "--port", "0"], cwd=ROOT,
                          capture_output=True, timeout=GUARD_S,
                          env={**os.environ, "IPS_TENANTS_FILE": str(path),
                               "IPS_PRELOAD_MODELS": "0", "AWS_DEFAULT_REGION": "us-east-1"})
    assert done.returncode == 2
    reason = [json.loads(line) for line in done.stderr.decode().splitlines()][-1]["reason"]
    assert reason.startswith("IPS_TENANTS_FILE") and "keys" in reason


def test_json_routes_refuse_a_body_that_is_not_declared_json(server):
    body = verification_body()
    for headers in ({}, {"Content-Type": "text/plain"},
                    {"Content-Type": "application/x-www-form-urlencoded"}):
        status, _, answer = server.request("POST", "/ips", body, {"x-api-key": ACME_KEY, **headers})
        assert (status, json.loads(answer)["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE"), headers


def enrolment(subject_id):
    from tests.support.face_images import astronaut, astronaut_card, fs
    return json.dumps({"subject_id": subject_id, "dl": b64(astronaut_card()),
                       "selfie": b64(fs.jpeg_bytes(astronaut())),
                       "expected": {"surname": "Qwertyuiop", "date_of_birth": "1974-08-12"}}
                      ).encode()


SUBJECT = "cust-edge-4711"


def test_two_tenants_an_idempotent_retry_is_stored_once(server):
    pytest.importorskip("dlib", reason="the offline engine is not installed")
    key = {"Idempotency-Key": "retry-0001"}
    first = post(server, "/enrolments", enrolment(SUBJECT), **key)
    assert first[0] == 201, first[2]
    again = post(server, "/enrolments", enrolment(SUBJECT), **key)
    assert again[0] == 201 and again[1].get("Idempotent-Replayed") == "true"
    assert json.loads(again[2]) == json.loads(first[2])
    status, _, info = server.request("GET", f"/enrolments/{SUBJECT}",
                                     headers={"x-api-key": ACME_KEY})
    assert (status, json.loads(info)["faces"]) == (200, 1)
    # the other tenant's key lacks the scope; it never learns whether the id exists
    for method in ("GET", "DELETE"):
        status, _, answer = server.request(method, f"/enrolments/{SUBJECT}",
                                           headers={"x-api-key": GLOBEX_KEY})
        assert (status, json.loads(answer)["code"]) == (403, "SCOPE_MISSING")


def test_the_log_holds_no_id_name_key_plain_hash_or_image(server):
    """Last in the module: everything above went through this server's log."""
    post(server, "/ips", body=b"{}", key="guess-0123456789abcdefghij")   # a refusal, logged
    status, _, _ = server.request("GET", "/health")
    assert status == 200
    text = "\n".join(server.lines)
    assert '"event":"access"' in text and '"event":"unauthorized"' in text
    forbidden = [SUBJECT, "Qwertyuiop", "1974-08-12", ACME_KEY, GLOBEX_KEY, METRICS_KEY,
                 "guess-0123456789", sha(ACME_KEY), sha(SUBJECT), sha(SUBJECT)[:16],
                 "/9j/", "iVBORw0KGgo"]                    # JPEG and PNG base64 starts
    assert not [item for item in forbidden if item in text]
