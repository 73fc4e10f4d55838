"""The WSGI application: every request through Chalice's own LocalGateway,
plus the wrapper's own routes (health, metrics) and the access log."""

from __future__ import annotations

import base64
import http
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
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

from chalicelib.core import errors
from chalicelib.core.errors import ApiError
from chalicelib.core.logs import frames, log_event
from chalicelib.flows import admission
from chalicelib.serve import edge
from chalicelib.serve.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
# Methods named as such in access logs; anything else is "OTHER" (a method
# token is client input, and could carry anything).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH, READY, METRICS = "/health", "/health/ready", "/metrics"

StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]


# --- shared state ---------------------------------------------------------------


@dataclass(frozen=True)
class EdgeSettings:
    """What the server checks before the app (chalicelib/serve/edge.py)."""

    allowed_hosts: frozenset[str] = edge.LOOPBACK_NAMES
    metrics_keys: tuple[str, ...] = ()
    metrics_open: bool = True  # no key of any kind: a loopback-only server


def edge_settings(bind_host: str, env: Mapping[str, str]) -> EdgeSettings:
    """Read after the stage's settings apply; ValueError refuses the start-up."""
    from chalicelib.tenants.sources import local_registry, parse_tenant_options

    tenants = parse_tenant_options(env)
    keyless = not tenants.parameter and local_registry(tenants).keyless
    refusal = edge.keyless_public_refusal(bind_host, keyless)
    if refusal is not None:
        raise ValueError(refusal)
    metrics_keys = edge.parse_metrics_keys(env)
    return EdgeSettings(
        allowed_hosts=edge.parse_allowed_hosts(env, bind_host),
        metrics_keys=metrics_keys,
        metrics_open=keyless and not metrics_keys,
    )


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
    status, headers, body = _json(
        error.status,
        {**error.body(), "request_id": request_id},
        {**error.headers, "X-Request-Id": request_id},
    )
    return status, edge.with_safe_headers(headers), body


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
    def __init__(
        self, app: Chalice, config: Config, state: State, edge: EdgeSettings | None = None
    ) -> None:
        self.gateway = LocalGateway(app, config)
        self.routes = RouteMatcher(list(app.routes))
        self.state = state
        self.edge = edge or EdgeSettings()

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
            log_event("internal_error", error=type(exc).__name__, frames=frames(exc.__traceback__))
            status, headers, body = _error(errors.internal())
        headers = edge.with_safe_headers(headers)
        access(self.state, method, route, status, start, _error_code(status, headers, body))
        start_response(_status_line(status), headers)
        return [body]

    def respond(
        self, environ: dict[str, Any], method: str, uri: str, route: str
    ) -> tuple[int, Headers, bytes]:
        is_get = method in ("GET", "HEAD")
        if route in (HEALTH, READY) and is_get:
            return self.operations(route)  # probes: open, whatever the Host (they say nothing)
        if not edge.host_allowed(environ.get("HTTP_HOST"), self.edge.allowed_hosts):
            log_event("host_refused", route=route)  # never the Host itself: client input
            return _error(errors.host_not_allowed())
        if route == METRICS and is_get:
            if self.edge.metrics_open or edge.metrics_authorised(
                environ.get("HTTP_AUTHORIZATION"), self.edge.metrics_keys
            ):
                return self.operations(route)
            log_event("unauthorized", route=METRICS, status=401)
            return _error(
                errors.unauthorized(
                    "Metrics need an operator key: Authorization: Bearer <key>",
                    'Bearer realm="ips-metrics"',
                )
            )
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
