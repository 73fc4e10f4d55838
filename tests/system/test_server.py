"""`make run`'s server (chalicelib/serve/) as a real process on a free
127.0.0.1 port: burst and backlog, shedding, the wait deadline, departed
clients, limits before reading, timeouts, log hygiene under broken framing,
drain on SIGTERM, health and metrics.

Deterministic: the stand-in engine (tests/support/gated_server.py) blocks
until the test lets it go, so the admission bound is full exactly when the
test says; waits are on log events, pipes and sockets, with generous guards
that only turn a hang into a failure."""

import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.server_process import (
    GUARD_S,
    Server,
    parse_responses,
    read_until_closed,
    verification_body,
)


@pytest.fixture
def servers():
    started = []

    def start(env=None, gated=False):
        server = Server(env, gated=gated)
        started.append(server)
        return server
    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="module")
def plain():
    server = Server()
    yield server
    server.kill()


def metric(text, name, **labels):
    """A sample's value from Prometheus text, 0.0 if absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if match and match.group(1) == name:
            have = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if have == want:
                return float(match.group(3))
    return 0.0


def request_bytes(method="POST", path="/ips", headers=(), body=b""):
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def assert_json_error(response, status, code):
    got_status, headers, body = response
    assert got_status == status, body
    assert headers.get("content-type") == "application/json"
    data = json.loads(body)
    assert data["code"] == code and data["request_id"] == headers["x-request-id"]


# --- burst, backlog and shedding -------------------------------------------

def test_a_64_client_burst_all_get_an_http_answer_and_the_overflow_is_shed(servers):
    server = servers({"IPS_MAX_IN_FLIGHT": "1", "IPS_MAX_QUEUED": "2",
                      "IPS_MAX_WAIT_S": "600"}, gated=True)
    start = threading.Barrier(64)
    answered = threading.Condition()
    answers = []

    def client(_):
        start.wait(GUARD_S)
        answer = server.verify()
        with answered:
            answers.append(answer)
            answered.notify()
        return answer

    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(client, i) for i in range(64)]
        server.wait_entered(1)
        # 1 computing + 2 queued; the 61 others are refused while the engine is held
        with answered:
            assert answered.wait_for(lambda: len(answers) >= 61, timeout=GUARD_S)
            refused = list(answers)
        snapshot = server.metrics()
        server.release(3)
        everything = [f.result(timeout=GUARD_S) for f in futures]
    served = [a for a in everything if a[0] == 200]

    assert len(refused) == 61 and len(served) == 3 and len(everything) == 64
    for status, headers, body in refused:
        assert status == 503
        assert int(headers["Retry-After"]) >= 1
        assert json.loads(body)["code"] == "ENGINE_BUSY"
    assert metric(snapshot, "ips_in_flight") == 1
    assert metric(snapshot, "ips_queued") == 2
    assert metric(snapshot, "ips_shed_total", reason="full") == 61
    after = server.metrics()
    assert metric(after, "ips_decisions_total", decision="match") == 3
    assert metric(after, "ips_engine_duration_seconds_count") == 3
    assert metric(after, "ips_errors_total", code="ENGINE_BUSY") == 61
    assert metric(after, "ips_http_requests_total", route="/ips", method="POST",
                  status="503") == 61
    assert metric(after, "ips_in_flight") == 0 and metric(after, "ips_queued") == 0


def test_a_request_that_waited_past_the_deadline_gets_503_and_is_not_computed(servers):
    server = servers({"IPS_MAX_IN_FLIGHT": "1", "IPS_MAX_QUEUED": "1",
                      "IPS_MAX_WAIT_S": "0.2"}, gated=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(server.verify)
        server.wait_entered(1)
        status, headers, body = server.verify()  # waits its 0.2 s, then is refused
        assert status == 503 and int(headers["Retry-After"]) >= 1
        assert json.loads(body)["code"] == "ENGINE_BUSY"
        server.wait_for("shed", lambda e: e.get("reason") == "waited_too_long")
        server.release(1)
        assert first.result(timeout=GUARD_S)[0] == 200
    assert server.entered_now() == 0  # the refused one never reached the engine


def test_a_request_whose_client_has_gone_is_not_computed(servers):
    server = servers({"IPS_MAX_IN_FLIGHT": "1", "IPS_MAX_QUEUED": "4",
                      "IPS_MAX_WAIT_S": "600"}, gated=True)
    body = verification_body()
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(server.verify)
        server.wait_entered(1)
        sock = server.connect()
        sock.sendall(request_bytes(headers=["Content-Type: application/json",
                                            f"Content-Length: {len(body)}"], body=body))
        queued = threading.Event()
        for _ in range(GUARD_S * 10):  # until the server shows it queued
            if metric(server.metrics(), "ips_queued") == 1:
                queued.set()
                break
            queued.wait(0.1)
        assert queued.is_set()
        sock.close()  # the client gives up
        event = server.wait_for("shed", lambda e: e.get("reason") == "client_gone")
        assert event["what"] == "verification"
        server.release(1)
        assert first.result(timeout=GUARD_S)[0] == 200
    assert server.entered_now() == 0
    assert metric(server.metrics(), "ips_shed_total", reason="client_gone") == 1


# --- limits before reading ----------------------------------------------------

def test_an_oversized_content_length_is_refused_before_the_body_is_sent(plain):
    # No body byte is ever sent: the 413 can only come from the header.
    for length in (200_000_000, 6 * 1024 * 1024 + 1):
        raw = plain.raw(request_bytes(headers=["Content-Type: application/json",
                                               f"Content-Length: {length}"]))
        [response] = parse_responses(raw)
        assert_json_error(response, 413, "BODY_TOO_LARGE")


@pytest.mark.parametrize("headers, status, code", [
    (["Content-Length: -1"], 400, "MALFORMED_REQUEST"),
    (["Content-Length: 12abc"], 400, "MALFORMED_REQUEST"),
    (["Content-Length: 1e3"], 400, "MALFORMED_REQUEST"),
    (["Transfer-Encoding: chunked"], 411, "LENGTH_REQUIRED"),
    (["Transfer-Encoding: gzip, chunked"], 400, "MALFORMED_REQUEST"),  # only chunked exists
    (["Transfer-Encoding: gzip"], 400, "MALFORMED_REQUEST"),
    (["Connection: close"], 411, "LENGTH_REQUIRED"),  # POST without any length
])
def test_bad_missing_and_chunked_lengths_get_a_json_4xx(plain, headers, status, code):
    raw = plain.raw(request_bytes(headers=["Content-Type: application/json", *headers],
                                  body=b"5\r\nhello\r\n0\r\n\r\n" if "chunked" in str(headers)
                                  else b""))
    responses = parse_responses(raw)
    assert responses, raw[:200]
    assert_json_error(responses[0], status, code)


def test_memory_stays_flat_under_large_declared_bodies(plain):
    # Four 200 MB bodies at once, each actually streamed until the server
    # closes: it must answer 413 and never buffer them.
    rss_before = _status_kib(plain.process.pid, "VmRSS")

    def abuse(_):
        with plain.connect() as sock:
            sock.sendall(request_bytes(headers=["Content-Type: application/json",
                                                "Content-Length: 200000000"]))
            chunk = b"A" * 65536
            try:
                for _ in range(3200):  # at most 200 MB
                    sock.sendall(chunk)
            except OSError:
                pass  # closed by the server after its 413
            return read_until_closed(sock)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(abuse, range(4)))
    peak = _status_kib(plain.process.pid, "VmHWM")
    for raw in answers:
        if raw:  # the 413 may be lost to a reset once the server has closed
            assert_json_error(parse_responses(raw)[0], 413, "BODY_TOO_LARGE")
    assert peak - rss_before < 50 * 1024, (rss_before, peak)


def _status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field}")


# --- timeouts ------------------------------------------------------------------

def test_an_idle_connection_is_closed(servers):
    server = servers({"IPS_IDLE_TIMEOUT_S": "1", "IPS_RECEIVE_TIMEOUT_S": "600"})
    with server.connect() as idle:  # says nothing at all
        assert read_until_closed(idle) == b""
    half = server.connect()  # headers begun, then silence
    half.sendall(b"POST /ips HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert read_until_closed(half) == b""
    half.close()
    assert server.request("GET", "/health")[0] == 200


def test_a_trickling_connection_is_closed_and_normal_traffic_still_served(servers):
    # the idle timeout is far above the trickle's pace: only the receive
    # deadline can close this connection
    server = servers({"IPS_IDLE_TIMEOUT_S": "60", "IPS_RECEIVE_TIMEOUT_S": "2"})
    slow = server.connect()  # trickles a header line more often than the idle timeout
    slow.sendall(b"POST /ips HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed = threading.Event()
    for i in range(GUARD_S * 4):
        try:
            slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
        except OSError:
            closed.set()
            break
        if _readable(slow):
            try:
                if slow.recv(1) == b"":
                    closed.set()
                    break
            except OSError:
                closed.set()
                break
        closed.wait(0.25)  # pacing of the trickle, not synchronisation
    slow.close()
    assert closed.is_set()
    server.wait_for("connection_closed", lambda e: e.get("reason") == "receive_timeout")
    assert server.request("GET", "/health")[0] == 200


def _readable(sock):
    import select
    return bool(select.select([sock], [], [], 0)[0])


# --- logs -----------------------------------------------------------------------

MARKER = "U2VjcmV0U2VsZmllUGl4ZWxz"  # base64 of "SecretSelfiePixels"


def test_no_request_line_header_or_body_reaches_the_log_whatever_the_framing(servers):
    server = servers({"IPS_IDLE_TIMEOUT_S": "2"})  # keep-alive leftovers close soon
    body = json.dumps({"dl": MARKER * 200, "selfie": MARKER * 200}).encode()
    json_head = ["Content-Type: application/json"]
    attempts = [
        # Content-Length 3,000 bytes short: the rest looks like the next request
        request_bytes(headers=[*json_head, f"Content-Length: {len(body) - 3000}"], body=body),
        # a complete request, then garbage after the body
        request_bytes(headers=[*json_head, f"Content-Length: {len(body)}"], body=body)
        + MARKER.encode() * 50 + b"\r\n\r\n",
        # the marker as method, path, header name and header value
        f"{MARKER} /ips HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /{MARKER}?q={MARKER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        f"GET / HTTP/1.1\r\nHost: x\r\n{MARKER}\r\n\r\n".encode(),
        f"GET / HTTP/1.1\r\nHost: x\r\nX-Token: {MARKER}\r\nConnection: close\r\n\r\n".encode(),
        f"GET / HTTP/9.9\r\nHost: {MARKER}\r\n\r\n".encode(),
        b"\x16\x03\x01\x02\x00\x01" + MARKER.encode() + b"\r\n\r\n",  # TLS to a plain port
    ]
    answered = 0
    for data in attempts:
        with server.connect() as sock:
            sock.sendall(data)
            answered += bool(parse_responses(read_until_closed(sock)))
    assert answered == len(attempts)
    assert server.stop() == 0
    assert server.lines
    for line in server.lines:
        event = json.loads(line)  # every line is one JSON object
        assert isinstance(event, dict) and "event" in event
        assert MARKER not in line and "Secret" not in line and "Traceback" not in line
    accesses = [json.loads(line) for line in server.lines if '"event":"access"' in line]
    assert accesses
    for event in accesses:
        assert set(event) == {"event", "method", "route", "status", "duration_ms"}
        assert event["method"] in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                   "OTHER", "-"}


# --- graceful stop ----------------------------------------------------------------

def test_sigterm_stops_accepting_finishes_in_flight_work_and_exits_0(servers):
    server = servers({"IPS_MAX_IN_FLIGHT": "2", "IPS_MAX_QUEUED": "0"}, gated=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight = [pool.submit(server.verify) for _ in range(2)]
        server.wait_entered(2)
        server.process.terminate()  # SIGTERM
        draining = server.wait_for("draining")
        assert draining["in_flight"] == 2
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=GUARD_S)
        server.release(2)
        answers = [f.result(timeout=GUARD_S) for f in in_flight]
    assert [status for status, _, _ in answers] == [200, 200]
    assert all(headers.get("Connection") == "close" for _, headers, _ in answers)
    assert all(json.loads(body)["decision"] == "match" for _, _, body in answers)
    assert server.process.wait(timeout=GUARD_S) == 0
    assert server.wait_for("stopped")["unfinished_connections"] == 0


# --- health and metrics --------------------------------------------------------------

def test_health_readiness_and_metrics(plain):
    status, _, body = plain.request("GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok", "ready": True,
                                                  "draining": False}
    status, _, body = plain.request("GET", "/health/ready")
    assert status == 200 and json.loads(body)["status"] == "ready"
    status, _, _ = plain.request("POST", "/ips", b"{not json", {"Content-Type": "application/json"})
    assert status == 400
    status, headers, body = plain.request("GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert metric(text, "ips_http_requests_total", route="/health", method="GET",
                  status="200") >= 1
    assert metric(text, "ips_errors_total", code="INVALID_JSON") >= 1
    assert metric(text, "ips_ready") == 1
    for name in ("ips_http_request_duration_seconds_count", "ips_in_flight", "ips_queued",
                 "ips_verification_duration_seconds_count", "ips_engine_duration_seconds_count",
                 "ips_open_connections"):
        assert re.search(rf"^{name}(\{{.*\}})? ", text, re.M), name
    # no request ids, no per-subject labels
    assert "request_id" not in text and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)


def test_readiness_follows_model_preload(servers):
    server = servers({"IPS_PRELOAD_MODELS": "1"})
    loaded = server.wait_for("models_loaded")
    assert loaded["workers"] >= 2
    assert server.request("GET", "/health/ready")[0] == 200
    assert metric(server.metrics(), "ips_ready") == 1
