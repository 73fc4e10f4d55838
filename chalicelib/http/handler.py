"""The protected routes' frame: request id, the current Services from the
composition root, CORS headers (browser-facing routes), the built-in key
check, then the route's action; an ApiError becomes the API's JSON error,
anything else an opaque 500 logged with its frames."""

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

# A route's work: (services, request) -> (status, body).
Action = Callable[[Services, Request], tuple[int, Any]]


def request_id(request: ChaliceRequest) -> str:
    context = request.context or {}
    return str(context.get("requestId") or uuid.uuid4())


def flow_request(request: ChaliceRequest, rid: str) -> Request:
    raw = request.raw_body or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    return Request(body, request.headers.get("content-type"), rid)


def internal_error(exc: BaseException, rid: str) -> ApiError:
    """Log where our code failed and return the opaque 500 the caller sees."""
    log_failure("internal_error", exc, rid)
    return errors.internal()


def handle(request: ChaliceRequest, action: Action, cors: bool = False) -> Response:
    rid = request_id(request)
    cors_headers: dict[str, str] = {}
    try:
        services = backends.services()
        access = services.settings.access
        if cors:
            cors_headers = auth.cors_headers(request.headers, access.cors_origins)
        auth.require_api_key(request.headers, access.api_key_hashes, rid)
        # The caller (tenant, scopes) is established here (issue 17).
        status, body = action(services, flow_request(request, rid))
    except ApiError as error:
        return error_response(error, rid, cors_headers)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, rid), rid, cors_headers)
    return Response(body=body, status_code=status, headers={**cors_headers, "X-Request-Id": rid})


def preflight(request: ChaliceRequest) -> Response:
    """The CORS preflight (chalicelib/http/auth.py): browsers send it without
    the API key, so it is not key-protected; it only answers with headers."""
    origins = backends.root().settings().access.cors_origins
    headers = auth.preflight_headers(request.headers, origins)
    return Response(
        body="", status_code=204, headers={**headers, "X-Request-Id": request_id(request)}
    )
