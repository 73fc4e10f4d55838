"""ips: ID + Selfie identity verification. Routes only; the logic is in chalicelib."""

import os
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib import api_spec, auth, enrolment_flow, errors, static_assets
from chalicelib.documents.service import read_request
from chalicelib.errors import ApiError
from chalicelib.responses import error_response
from chalicelib.settings import Settings, load_settings
from chalicelib.verification import internal_error, verify

app = Chalice(app_name="ips")
load_settings()  # a malformed stage setting fails the deployment's start-up, not a request

# A route's work: (settings, request, request_id) -> (status, body).
Action = Callable[[Settings, Request, str], tuple[int, Any]]


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before any route runs
    return request


def _request_id() -> str:
    context = _request().context or {}
    return str(context.get("requestId") or uuid.uuid4())


def _handle(action: Action, cors: bool = False) -> Response:
    """The protected routes' frame: settings, CORS headers (browser-facing
    routes), the built-in key check, then the action; an ApiError becomes
    the API's JSON error, anything else an opaque 500 logged with its frames."""
    request = _request()
    request_id = _request_id()
    cors_headers: dict[str, str] = {}
    try:
        settings = load_settings()
        if cors:
            cors_headers = auth.cors_headers(request.headers, settings.cors_origins)
        auth.require_api_key(request.headers, settings.api_key_hashes, request_id)
        status, body = action(settings, request, request_id)
    except ApiError as error:
        return error_response(error, request_id, cors_headers)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, request_id), request_id, cors_headers)
    return Response(
        body=body, status_code=status, headers={**cors_headers, "X-Request-Id": request_id}
    )


def _body(request: Request) -> tuple[bytes, str | None]:
    raw = request.raw_body or b""
    content_type = request.headers.get("content-type")
    return raw.encode("utf-8") if isinstance(raw, str) else raw, content_type


def _preflight() -> Response:
    # The CORS preflight (chalicelib/auth.py): browsers send it without the
    # API key, so it is not key-protected; it only answers with headers.
    headers = auth.preflight_headers(_request().headers, load_settings().cors_origins)
    return Response(body="", status_code=204, headers={**headers, "X-Request-Id": _request_id()})


# Other methods get the API's JSON error (405 + Allow) rather than Chalice's
# or API Gateway's differently shaped ones. Key-protected like POST, so an
# anonymous caller never invokes the function.
OTHER_METHODS = ["GET", "HEAD", "PUT", "PATCH", "DELETE"]


# --- Verification (chalicelib/verification.py) -------------------------------
# content_types="*/*" lets the handler answer a wrong Content-Type with the
# API's own JSON error instead of Chalice's differently shaped one.
@app.route("/ips", methods=["POST"], api_key_required=True, content_types=["*/*"])
def ips() -> Response:
    return _handle(
        lambda settings, request, rid: (200, verify(*_body(request), settings, rid)), True
    )


@app.route("/ips", methods=["OPTIONS"])
def ips_preflight() -> Response:
    return _preflight()


@app.route("/ips", methods=OTHER_METHODS, api_key_required=True, content_types=["*/*"])
def ips_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/ips", "POST, OPTIONS"), _request_id())


# --- The document alone (docs/document-reading.md) ------------------------------
# The page shows the person what was read before the selfie step.
@app.route("/documents", methods=["POST"], api_key_required=True, content_types=["*/*"])
def documents() -> Response:
    return _handle(
        lambda settings, request, rid: (200, read_request(*_body(request), settings, rid)), True
    )


@app.route("/documents", methods=["OPTIONS"])
def documents_preflight() -> Response:
    return _preflight()


@app.route("/documents", methods=OTHER_METHODS, api_key_required=True, content_types=["*/*"])
def documents_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/documents", "POST, OPTIONS"), _request_id())


# --- Enrolment and duplicate search (chalicelib/enrolment_flow.py, docs/enrolment.md) ---
# Called by a business's back end, not by browsers: no CORS.
@app.route("/enrolments", methods=["POST"], api_key_required=True, content_types=["*/*"])
def enrol() -> Response:
    return _handle(
        lambda settings, request, rid: enrolment_flow.enrol(*_body(request), settings, rid)
    )


@app.route("/search", methods=["POST"], api_key_required=True, content_types=["*/*"])
def search() -> Response:
    return _handle(
        lambda settings, request, rid: (200, enrolment_flow.search(*_body(request), settings, rid))
    )


@app.route("/enrolments/{subject_id}", methods=["GET"], api_key_required=True)
def enrolled_subject(subject_id: str) -> Response:
    return _handle(
        lambda settings, request, rid: (200, enrolment_flow.subject(subject_id, settings, rid))
    )


@app.route("/enrolments/{subject_id}", methods=["DELETE"], api_key_required=True)
def erase_subject(subject_id: str) -> Response:
    def erase(settings: Settings, request: Request, rid: str) -> tuple[int, Any]:
        enrolment_flow.erase(subject_id, settings, rid)
        return 204, ""

    return _handle(erase)


# --- The API contract (openapi.yaml, served as JSON: chalicelib/api_spec.py) ----
@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    return api_spec.document_response(_request_id())


# --- The verification web page (chalicelib/static/, docs/web-page.md) -------
# Served by the same app so it works on the local stage out of the box. No API
# key is involved here and none is ever put in the page.
@app.route("/", methods=["GET"])
def web_page() -> Response:
    # Cloud stages: the liveness island streams to Rekognition in the
    # function's region (the page's CSP names that endpoint, nothing wider).
    cloud = load_settings().engine != "local"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return static_assets.page_response(_request_id(), region if cloud else None)


@app.route("/static/{name}", methods=["GET"])
def web_asset(name: str) -> Response:
    return static_assets.asset_response(name, _request_id())


@app.route("/static/js/{name}", methods=["GET"])
def web_script(name: str) -> Response:
    return static_assets.asset_response(name, _request_id(), folder="js")


# The Face Liveness island's bundle, WASM and model (issue 20, docs/web-page.md).
app.api.binary_types.append(static_assets.WASM)


@app.route("/static/liveness/{name}", methods=["GET"])
def web_liveness(name: str) -> Response:
    return static_assets.asset_response(name, _request_id(), folder="liveness")
