"""The protected routes' frame: request id, the current Services from the
composition root, CORS headers (browser-facing routes), the caller
(chalicelib/http/auth.py) and the route's scope, then the route's action;
an ApiError becomes the API's JSON error, anything else an opaque 500
logged with its frames. Every answer is no-store and nosniff."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Request as ChaliceRequest
from chalice.app import Response

from chalicelib import backends
from chalicelib.backends import Services
from chalicelib.core import errors
from chalicelib.core.errors import ApiError
from chalicelib.core.logs import log_failure
from chalicelib.flows.request import Request
from chalicelib.http import auth
from chalicelib.http.responses import error_response
from chalicelib.idempotency import HEADER as IDEMPOTENCY_HEADER
from chalicelib.idempotency import run_once
from chalicelib.tenants.base import Caller, Scope

# Cloud stages are HTTPS only (API Gateway): browsers may remember that.
HSTS = "max-age=31536000; includeSubDomains"

# A route's work: (services, request) -> (status, body).
Action = Callable[[Services, Request], tuple[int, Any]]


def request_id(request: ChaliceRequest) -> str:
    context = request.context or {}
    return str(context.get("requestId") or uuid.uuid4())


def flow_request(request: ChaliceRequest, rid: str, caller: Caller) -> Request:
    raw = request.raw_body or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    return Request(body, request.headers.get("content-type"), rid, caller)


def safe_headers(hsts: bool) -> dict[str, str]:
    """Every API answer: never cached (answers carry names and birth
    dates), never sniffed; HSTS where the stage is served over HTTPS only."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if hsts:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def internal_error(exc: BaseException, rid: str) -> ApiError:
    """Log where our code failed and return the opaque 500 the caller sees."""
    log_failure("internal_error", exc, rid)
    return errors.internal()


def handle(
    request: ChaliceRequest,
    action: Action,
    scope: Scope,
    cors: bool = False,
    idempotent: str | None = None,
) -> Response:
    """Authenticate (401), require the route's scope (403), run the action.
    ``idempotent`` (a route name such as "POST /enrolments"): an
    Idempotency-Key header makes a retry get the first answer
    (chalicelib/idempotency/)."""
    rid = request_id(request)
    extra: dict[str, str] = {}
    try:
        services = backends.services()
        access = services.settings.access
        extra = safe_headers(access.hsts)
        if cors:
            extra.update(auth.cors_headers(request.headers, access.cors_origins))
        caller = auth.authenticate(services.registry(), request.headers, request.context, rid)
        auth.require_scope(caller, scope, rid)
        flow = flow_request(request, rid, caller)
        if idempotent is None:
            status, body = action(services, flow)
        else:
            status, body, replayed = run_once(
                services.idempotency(),
                caller.tenant_id,
                request.headers.get(IDEMPOTENCY_HEADER),
                idempotent,
                flow.body,
                lambda: action(services, flow),
            )
            if replayed:
                extra["Idempotent-Replayed"] = "true"
    except ApiError as error:
        return error_response(error, rid, extra)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, rid), rid, extra)
    return Response(body=body, status_code=status, headers={**extra, "X-Request-Id": rid})


def preflight(request: ChaliceRequest) -> Response:
    """The CORS preflight (chalicelib/http/auth.py): browsers send it without
    the API key, so it is not key-protected; it only answers with headers."""
    origins = backends.root().settings().access.cors_origins
    headers = auth.preflight_headers(request.headers, origins)
    return Response(
        body="", status_code=204, headers={**headers, "X-Request-Id": request_id(request)}
    )
