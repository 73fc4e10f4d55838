"""`make run`: the local stage served by waitress, a maintained production
WSGI server, through Chalice's own request translation (chalice.local's
LocalGateway turns each HTTP request into the API Gateway event the app
handles, as `chalice local` does). Never imported by the Lambda path; its
dependencies (waitress, prometheus-client) are in requirements-local.txt.

    python -m chalicelib.serve [--host 127.0.0.1] [--port 8000] [--stage local]

What this adds to the app (docs/operations.md has the why and the settings):
- limits before reading: a Content-Length over the body limit gets 413
  BODY_TOO_LARGE before a byte of the body is read; bad lengths, missing
  lengths and chunked bodies get a JSON 4xx; slow and idle connections are
  closed after a timeout. waitress receives every request asynchronously in
  one thread, so a slow client never holds a worker thread;
- admission (chalicelib/admission.py): the client-gone signal for requests
  that wait for a turn;
- JSON log lines only, with no request line, header value or body fragment;
  one access event per request (method, route template, status, duration);
- GET /health, GET /health/ready and GET /metrics (Prometheus), served by
  this wrapper only, so they never exist on the cloud stages;
- graceful stop: on SIGTERM stop accepting, finish what is in flight (at
  most IPS_DRAIN_TIMEOUT_S), exit 0.
"""

from __future__ import annotations

import argparse
import base64
import http
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import prometheus_client as prom
from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    CustomLocalChalice,
    LocalChalice,
    LocalGateway,
    LocalGatewayException,
    RouteMatcher,
)
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error as WaitressError

from chalicelib import admission, errors
from chalicelib.errors import ApiError
from chalicelib.limits import MAX_BODY_BYTES
from chalicelib.logs import add_sink, log_event

ROOT = Path(__file__).resolve().parents[1]
# Methods named as such in access logs; anything else is "OTHER" (a method
# token is client input, and could carry anything).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH, READY, METRICS = "/health", "/health/ready", "/metrics"

StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]


# --- settings ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    stage: str = "local"
    threads: int = 0  # 0: admission in-flight + queued + SPARE_THREADS
    connection_limit: int = 200  # open connections; more wait in the listen backlog
    backlog: int = 1024  # listen backlog (the kernel caps it at somaxconn)
    idle_timeout_s: int = 30  # a connection silent this long is closed
    receive_timeout_s: int = 60  # a request not fully received in this time: closed
    drain_timeout_s: int = 30  # SIGTERM: longest wait for in-flight work
    preload_models: bool = True  # load the engine's models before the first request


# Threads beyond the admission bound: they keep /health, /metrics, the page
# and the immediate 503s answered while every compute slot is taken.
SPARE_THREADS = 4


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if value < low:
        raise ValueError(f"{name} must be at least {low}")
    return value


def settings_from_env(env: Mapping[str, str] | None = None) -> ServerSettings:
    env = os.environ if env is None else env
    d = ServerSettings()
    preload = env.get("IPS_PRELOAD_MODELS", "1").strip().lower()
    if preload not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ValueError("IPS_PRELOAD_MODELS must be 1 or 0")
    return ServerSettings(
        host=env.get("IPS_HOST", d.host).strip() or d.host,
        port=_int(env, "IPS_PORT", d.port, 0),
        stage=env.get("IPS_CHALICE_STAGE", d.stage).strip() or d.stage,
        threads=_int(env, "IPS_SERVER_THREADS", d.threads, 0),
        connection_limit=_int(env, "IPS_CONNECTION_LIMIT", d.connection_limit),
        backlog=_int(env, "IPS_BACKLOG", d.backlog),
        idle_timeout_s=_int(env, "IPS_IDLE_TIMEOUT_S", d.idle_timeout_s),
        receive_timeout_s=_int(env, "IPS_RECEIVE_TIMEOUT_S", d.receive_timeout_s),
        drain_timeout_s=_int(env, "IPS_DRAIN_TIMEOUT_S", d.drain_timeout_s, 0),
        preload_models=preload not in ("0", "false", "no"),
    )


# --- logs: JSON lines only, and nothing that could quote the input ------------


def _frames(tb: TracebackType | None) -> list[str]:
    return [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)
    ]


# waitress's and Chalice's messages can embed a request path or an exception
# text (client input). Only these fixed kinds are named; the message never is.
_KNOWN_MESSAGES = (
    ("Task queue depth", "task_queue_depth"),
    ("Exception while serving", "exception_while_serving"),
    ("Exception when servicing", "exception_while_serving"),
    ("Client disconnected while serving", "client_disconnected"),
    ("total open connections reached", "connection_limit_reached"),
    ("total open connections dropped", "connection_limit_cleared"),
    ("Socket error", "socket_error"),
    ("Unexpected exception when flushing", "flush_error"),
    ("server accept() threw", "accept_error"),
    ("Serving on", "serving"),
    ("Caught exception", "app_exception"),
)


class SafeJsonFormatter(logging.Formatter):
    """Third-party log records as one JSON line: logger, level, a fixed kind
    and, for exceptions, the type and frames (never the message)."""

    def format(self, record: logging.LogRecord) -> str:
        text = str(record.msg)
        kind = next((k for prefix, k in _KNOWN_MESSAGES if text.startswith(prefix)), "other")
        fields: dict[str, Any] = {
            "event": "server_log",
            "logger": record.name,
            "level": record.levelname,
            "kind": kind,
        }
        if kind == "task_queue_depth" and isinstance(record.args, tuple) and record.args:
            depth = record.args[0]
            fields["depth"] = depth if isinstance(depth, int) else None
        if record.exc_info and record.exc_info[0] is not None:
            fields["error"] = record.exc_info[0].__name__
            fields["frames"] = _frames(record.exc_info[2])
        return json.dumps(fields, separators=(",", ":"))


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # waitress logs through "waitress" and "waitress.queue"; Chalice through
    # the app's name ("ips"), with a handler of its own that prints text.
    for name in ("waitress", "waitress.queue", "ips"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log_event("uncaught_exception", error=kind.__name__, frames=_frames(tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        log_event(
            "uncaught_exception",
            error=args.exc_type.__name__,
            frames=_frames(args.exc_traceback),
            thread=getattr(args.thread, "name", None),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


# --- metrics ------------------------------------------------------------------


class Metrics:
    """Prometheus metrics, in a registry of their own. Labels are routes,
    methods, statuses, codes and decisions: never anything about a person."""

    def __init__(self) -> None:
        prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: noise for this service
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter(
            "ips_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=r
        )
        self.duration = prom.Histogram(
            "ips_http_request_duration_seconds",
            "Time from request received to response",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.errors = prom.Counter(
            "ips_errors", "Error responses by error code", ["code"], registry=r
        )
        self.decisions = prom.Counter(
            "ips_decisions", "Verification decisions", ["decision"], registry=r
        )
        self.verification = prom.Histogram(
            "ips_verification_duration_seconds",
            "Whole verification (decode to decision)",
            registry=r,
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30),
        )
        self.engine = prom.Histogram(
            "ips_engine_duration_seconds",
            "Face engine comparison",
            registry=r,
            buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5),
        )
        self.wait = prom.Histogram(
            "ips_admission_wait_seconds",
            "Time a verification waited for a compute slot",
            registry=r,
            buckets=(0, 0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.shed = prom.Counter(
            "ips_shed", "Requests refused or dropped by admission control", ["reason"], registry=r
        )
        self.in_flight = prom.Gauge("ips_in_flight", "Verifications computing now", registry=r)
        self.queued = prom.Gauge(
            "ips_queued", "Verifications waiting for a compute slot", registry=r
        )
        self.ready = prom.Gauge("ips_ready", "1 once the engine models are loaded", registry=r)
        self.connections = prom.Gauge("ips_open_connections", "Open client connections", registry=r)

    def on_event(self, event: str, fields: dict[str, Any]) -> None:
        """Log-event sink (chalicelib.logs.add_sink)."""
        if event == "verification":
            if fields.get("decision"):
                self.decisions.labels(fields["decision"]).inc()
            if "total_ms" in fields and fields.get("status") == 200:
                self.verification.observe(fields["total_ms"] / 1000)
            if "engine_ms" in fields:
                self.engine.observe(fields["engine_ms"] / 1000)
            if "wait_ms" in fields:
                self.wait.observe(fields["wait_ms"] / 1000)
        elif event == "shed":
            self.shed.labels(str(fields.get("reason"))).inc()

    def on_response(
        self, route: str, method: str, status: int, seconds: float, code: str | None
    ) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.duration.labels(route).observe(seconds)
        if code:
            self.errors.labels(code).inc()

    def render(self) -> bytes:
        return prom.generate_latest(self.registry)


# --- shared state ---------------------------------------------------------------


class State:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.ready = threading.Event()
        self.stopping = threading.Event()


def _json(
    status: int, body: Mapping[str, Any], extra: Mapping[str, str] | None = None
) -> tuple[int, Headers, bytes]:
    data = json.dumps(body, separators=(",", ":")).encode()
    return status, [("Content-Type", "application/json"), *(extra or {}).items()], data


def _error(error: ApiError) -> tuple[int, Headers, bytes]:
    request_id = str(uuid.uuid4())
    return _json(
        error.status,
        {**error.body(), "request_id": request_id},
        {**error.headers, "X-Request-Id": request_id},
    )


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def access(
    state: State, method: str, route: str, status: int, start: float, code: str | None
) -> None:
    seconds = time.perf_counter() - start
    log_event(
        "access", method=method, route=route, status=status, duration_ms=round(seconds * 1000, 1)
    )
    state.metrics.on_response(route, method, status, seconds, code)


# --- the WSGI application: Chalice's gateway ------------------------------------


def load_app(stage: str) -> tuple[Chalice, Config]:
    """The app and its stage config, loaded as `chalice local` loads them (the
    stage's environment variables from .chalice/config.json are applied)."""
    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    # As chalice.local.create_local_server does: current_request becomes
    # per-thread, since waitress serves requests on several threads at once.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return app, config


class GatewayApp:
    def __init__(self, app: Chalice, config: Config, state: State) -> None:
        self.gateway = LocalGateway(app, config)
        self.routes = RouteMatcher(list(app.routes))
        self.state = state

    def route_of(self, uri: str) -> str:
        path = uri.split("?", 1)[0]
        if path in (HEALTH, READY, METRICS):
            return path
        try:
            return str(self.routes.match_route(uri).route)
        except ValueError:
            return "unmatched"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start = time.perf_counter()
        raw_method = environ.get("REQUEST_METHOD", "GET")
        method = raw_method if raw_method in KNOWN_METHODS else "OTHER"
        uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/"
        route = self.route_of(uri)
        try:
            status, headers, body = self.respond(environ, raw_method, uri, route)
        except Exception as exc:  # our bug: opaque 500, the type and frames logged
            log_event("internal_error", error=type(exc).__name__, frames=_frames(exc.__traceback__))
            status, headers, body = _error(errors.internal())
        access(self.state, method, route, status, start, _error_code(status, headers, body))
        start_response(_status_line(status), headers)
        return [body]

    def respond(
        self, environ: dict[str, Any], method: str, uri: str, route: str
    ) -> tuple[int, Headers, bytes]:
        if route in (HEALTH, READY, METRICS) and method in ("GET", "HEAD"):
            return self.operations(route)
        length = environ.get("CONTENT_LENGTH", "")
        if method in BODY_METHODS and not length:
            return _error(errors.length_required())
        body = environ["wsgi.input"].read(int(length)) if length and int(length) > 0 else None
        headers = _request_headers(environ)
        probe = environ.get("waitress.client_disconnected")
        token = admission.client_gone_probe.set(probe) if probe else None
        try:
            response = self.gateway.handle_request(
                method=method, path=uri, headers=headers, body=body
            )
        except LocalGatewayException as exc:
            return exc.CODE, _response_headers(exc.headers), exc.body or b""
        finally:
            if token is not None:
                admission.client_gone_probe.reset(token)
        out = _response_headers(
            {**response["headers"], **(response.get("multiValueHeaders") or {})}
        )
        data = response.get("body")
        if response.get("isBase64Encoded") and data is not None:
            data = base64.b64decode(data)
        if data is None:
            data = b""
        elif isinstance(data, str):
            data = data.encode("utf-8")
        return int(response["statusCode"]), out, data

    def operations(self, route: str) -> tuple[int, Headers, bytes]:
        if route == METRICS:
            return 200, [("Content-Type", prom.CONTENT_TYPE_LATEST)], self.state.metrics.render()
        ready = self.state.ready.is_set() and not self.state.stopping.is_set()
        if route == HEALTH:  # liveness: the process answers
            return _json(
                200, {"status": "ok", "ready": ready, "draining": self.state.stopping.is_set()}
            )
        if ready:
            return _json(200, {"status": "ready"})
        return _json(
            503,
            {"status": "draining" if self.state.stopping.is_set() else "starting"},
            {"Retry-After": "1"},
        )


def _request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _response_headers(headers: Mapping[str, Any]) -> Headers:
    out: Headers = []
    for name, value in headers.items():
        for one in value if isinstance(value, list) else [value]:
            out.append((name, str(one)))
    if not any(name.lower() == "content-type" for name, _ in out):
        out.append(("Content-Type", "application/json"))  # as chalice local does
    return out


def _error_code(status: int, headers: Headers, body: bytes) -> str | None:
    """The API error code of an error response, for the errors metric."""
    if status < 400 or len(body) > 65536:
        return None
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and code.isupper() and len(code) < 64 else None


# --- waitress: strict framing, JSON errors, timeouts, drain ---------------------


class LengthRequired(WaitressError):  # type: ignore[misc]  # waitress is untyped
    code = 411
    reason = "Length Required"


class StrictParser(HTTPRequestParser):  # type: ignore[misc]  # waitress is untyped
    """waitress's parser, refusing chunked bodies once the headers are in
    (before any of the body is read): the service needs the length up front
    to refuse an oversized body without reading it."""

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.headers_finished and self.chunked and self.error is None:  # type: ignore[has-type]
            self.error = LengthRequired("chunked")
            self.completed = True
        if self.error is not None:
            self.expect_continue = False  # never invite a body we refuse
        return int(consumed)


def _api_error_for(error: WaitressError) -> ApiError:
    status = int(error.code)
    if status == 413:
        return errors.body_too_large()
    if status == 411:
        return errors.length_required()
    if status == 431:
        return errors.headers_too_large()
    if status >= 500 and status != 501:
        return errors.internal()
    return errors.malformed_request()  # 400 and 501 (an unknown Transfer-Encoding)


class JsonErrorTask(ErrorTask):  # type: ignore[misc]  # waitress is untyped
    """waitress's framing errors as the API's JSON error. Its own text would
    quote the offending input (a method, a header), so none of it is used."""

    def execute(self) -> None:
        start = time.perf_counter()
        status, headers, body = _error(_api_error_for(self.request.error))
        self.status = _status_line(status)
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        server = self.channel.server
        if isinstance(server, Server):
            access(server.state, "-", "-", status, start, _error_code(status, headers, body))


class DrainAwareTask(WSGITask):  # type: ignore[misc]  # waitress is untyped
    def build_response_header(self) -> bytes:
        server = self.channel.server
        if isinstance(server, Server) and server.state.stopping.is_set():
            self.set_close_on_finish()  # draining: no more requests on this connection
        return bytes(super().build_response_header())


class Channel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    parser_class = StrictParser
    task_class = DrainAwareTask
    error_task_class = JsonErrorTask
    receive_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.receive_started = time.monotonic()  # first byte of a new request
        return bool(super().received(data))


class Server(TcpWSGIServer):  # type: ignore[misc]  # waitress is untyped
    channel_class = Channel

    def __init__(
        self, application: GatewayApp, state: State, receive_timeout_s: int, adj: Adjustments
    ) -> None:
        self.state = state
        self.receive_timeout_s = receive_timeout_s
        super().__init__(application, adj=adj)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections (channel_timeout)
        # A request still arriving after receive_timeout_s (a client trickling
        # bytes keeps the idle timer from firing): close its connection.
        cutoff = time.monotonic() - self.receive_timeout_s
        for channel in list(self.active_channels.values()):
            if (
                channel.request is not None
                and not channel.requests
                and channel.receive_started < cutoff
                and not channel.will_close
            ):
                channel.will_close = True
                log_event("connection_closed", reason="receive_timeout")

    def busy_channels(self) -> int:
        return sum(
            1
            for ch in self.active_channels.values()
            if ch.requests or ch.total_outbufs_len or ch.request is not None
        )

    def close_idle_channels(self) -> None:
        for ch in list(self.active_channels.values()):
            if not (ch.requests or ch.total_outbufs_len or ch.request is not None):
                ch.will_close = True


def build_server(settings: ServerSettings, state: State, app: Chalice, config: Config) -> Server:
    """Bind and listen (connections are accepted into the backlog from here)."""
    gate = admission.admission()  # first use: limits read after the stage's settings apply
    limits = gate.limits
    threads = settings.threads or limits.in_flight + limits.queued + SPARE_THREADS
    adj = Adjustments(
        host=settings.host,
        port=settings.port,
        threads=threads,
        backlog=settings.backlog,
        connection_limit=settings.connection_limit,
        channel_timeout=settings.idle_timeout_s,
        cleanup_interval=1,
        # waitress refuses a Content-Length >= this, before reading the body
        max_request_body_size=MAX_BODY_BYTES + 1,
        # read one request ahead so that a client who hangs up is noticed
        # (waitress.client_disconnected) while its request waits for a turn
        channel_request_lookahead=1,
        ident="ips",
        expose_tracebacks=False,
        log_socket_errors=False,
    )
    server = Server(GatewayApp(app, config, state), state, settings.receive_timeout_s, adj)
    state.metrics.in_flight.set_function(lambda: gate.running)
    state.metrics.queued.set_function(lambda: gate.waiting)
    state.metrics.connections.set_function(lambda: len(server.active_channels))
    return server


def _preload(state: State) -> None:
    """Load the engine's models before the server listens. dlib holds the
    GIL while it reads its model files, so loading them while serving would
    stall every connection for as long (seconds on a busy machine): until
    they are loaded, connections are refused instead, and /health/ready is
    200 from the first answer on."""
    from chalicelib.settings import load_settings

    start = time.perf_counter()
    try:
        if load_settings().engine == "local":
            from chalicelib.engines.local import preload

            workers = preload()
            log_event(
                "models_loaded", workers=workers, ms=round((time.perf_counter() - start) * 1000, 1)
            )
    except Exception as exc:
        log_event(
            "models_preload_failed", error=type(exc).__name__, frames=_frames(exc.__traceback__)
        )
    state.ready.set()
    state.metrics.ready.set(1)


def run(settings: ServerSettings) -> int:
    state = State(Metrics())
    add_sink(state.metrics.on_event)
    server: Server | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        state.stopping.set()
        if server is not None:
            server.pull_trigger()  # wake the loop now rather than at its timeout

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    app, config = load_app(settings.stage)  # applies the stage's settings first
    configure_logging()  # again: creating the Chalice app gave its logger a text handler
    if settings.preload_models:
        _preload(state)
    else:  # each worker loads its models on first use (the first verification pays)
        state.ready.set()
        state.metrics.ready.set(1)
    server = build_server(settings, state, app, config)

    limits = admission.admission().limits
    log_event(
        "server_start",
        url=f"http://{server.effective_host}:{server.effective_port}",
        host=server.effective_host,
        port=int(server.effective_port),
        threads=server.adj.threads,
        max_in_flight=limits.in_flight,
        max_queued=limits.queued,
        max_wait_s=limits.max_wait_s,
        idle_timeout_s=settings.idle_timeout_s,
        receive_timeout_s=settings.receive_timeout_s,
        drain_timeout_s=settings.drain_timeout_s,
    )
    loop_map = server._map
    while not state.stopping.is_set():
        wasyncore.loop(timeout=1.0, map=loop_map, count=1)
    return drain(server, state, settings.drain_timeout_s)


def drain(server: Server, state: State, timeout_s: int) -> int:
    """Stop accepting (the listening socket is closed: new connections are
    refused), answer what was received, then close everything."""
    gate = admission.admission()
    wasyncore.dispatcher.close(server)  # the listener only; the trigger stays
    log_event(
        "draining",
        busy_connections=server.busy_channels(),
        in_flight=gate.running,
        queued=gate.waiting,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.close_idle_channels()
        if server.busy_channels() == 0:
            break
        wasyncore.loop(timeout=0.1, map=server._map, count=1)
    left = server.busy_channels()
    for ch in list(server.active_channels.values()):
        ch.handle_close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
    log_event("stopped", unfinished_connections=left)
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    defaults = settings_from_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--stage", default=defaults.stage)
    args = parser.parse_args(argv)
    settings = ServerSettings(
        **{**defaults.__dict__, "host": args.host, "port": args.port, "stage": args.stage}
    )
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
