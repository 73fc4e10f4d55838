"""ips: ID + Selfie identity verification. Routes only; the logic is in chalicelib."""
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib import api_spec, auth, enrolment_flow, errors, static_assets
from chalicelib.documents.service import read_request
from chalicelib.errors import ApiError
from chalicelib.responses import error_response
from chalicelib.settings import Settings, load_settings
from chalicelib.verification import internal_error, verify

app = Chalice(app_name="ips")
load_settings()  # a malformed stage setting fails the deployment's start-up, not a request


def _request_id() -> str:
    context = app.current_request.context or {}
    return context.get("requestId") or str(uuid.uuid4())


# content_types="*/*" lets the handler answer a wrong Content-Type with the
# API's own JSON error instead of Chalice's differently shaped one.
@app.route("/ips", methods=["POST"], api_key_required=True, content_types=["*/*"])
def ips() -> Response:
    request = app.current_request
    request_id = _request_id()
    cors = {}
    try:
        settings = load_settings()
        cors = auth.cors_headers(request.headers, settings.cors_origins)
        auth.require_api_key(request.headers, settings.api_key_hashes, request_id)
        body = verify(request.raw_body or b"", request.headers.get("content-type"),
                      settings, request_id)
    except ApiError as error:
        return error_response(error, request_id, cors)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, request_id), request_id, cors)
    return Response(body=body, status_code=200, headers={**cors, "X-Request-Id": request_id})


# The CORS preflight (chalicelib/auth.py): browsers send it without the API
# key, so it is not key-protected; it only answers with headers.
@app.route("/ips", methods=["OPTIONS"])
def ips_preflight() -> Response:
    headers = auth.preflight_headers(app.current_request.headers,
                                     load_settings().cors_origins)
    return Response(body="", status_code=204,
                    headers={**headers, "X-Request-Id": _request_id()})


# Other methods get the API's JSON error (405 + Allow) rather than Chalice's
# or API Gateway's differently shaped ones. Key-protected like POST, so an
# anonymous caller never invokes the function.
@app.route("/ips", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"], api_key_required=True,
           content_types=["*/*"])
def ips_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/ips", "POST, OPTIONS"), _request_id())


# Reads the identity document alone (docs/document-reading.md): the page
# shows the person what was read before the selfie step.
@app.route("/documents", methods=["POST"], api_key_required=True, content_types=["*/*"])
def documents() -> Response:
    request = app.current_request
    request_id = _request_id()
    cors = {}
    try:
        settings = load_settings()
        cors = auth.cors_headers(request.headers, settings.cors_origins)
        auth.require_api_key(request.headers, settings.api_key_hashes, request_id)
        body = read_request(
            request.raw_body or b"", request.headers.get("content-type"), settings, request_id
        )
    except ApiError as error:
        return error_response(error, request_id, cors)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, request_id), request_id, cors)
    return Response(body=body, status_code=200, headers={**cors, "X-Request-Id": request_id})


@app.route("/documents", methods=["OPTIONS"])
def documents_preflight() -> Response:
    headers = auth.preflight_headers(app.current_request.headers, load_settings().cors_origins)
    return Response(body="", status_code=204, headers={**headers, "X-Request-Id": _request_id()})


@app.route(
    "/documents",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"],
    api_key_required=True,
    content_types=["*/*"],
)
def documents_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/documents", "POST, OPTIONS"), _request_id())


# --- Enrolment and duplicate search (chalicelib/enrolment_flow.py, docs/enrolment.md) ---
# Key-protected like POST /ips: API Gateway's key on cloud stages, the
# built-in check wherever IPS_API_KEYS / IPS_API_KEY_SHA256 are set.


def _protected(action: Callable[[Settings, str], tuple[int, Any]]) -> Response:
    """Settings, the built-in key check, then action(settings, request_id) ->
    (status, body); errors become the API's JSON error."""
    request_id = _request_id()
    try:
        settings = load_settings()
        auth.require_api_key(app.current_request.headers, settings.api_key_hashes, request_id)
        status, body = action(settings, request_id)
    except ApiError as error:
        return error_response(error, request_id)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return error_response(internal_error(exc, request_id), request_id)
    return Response(body=body, status_code=status, headers={"X-Request-Id": request_id})


@app.route("/enrolments", methods=["POST"], api_key_required=True, content_types=["*/*"])
def enrol() -> Response:
    request = app.current_request
    return _protected(
        lambda settings, request_id: enrolment_flow.enrol(
            request.raw_body or b"", request.headers.get("content-type"), settings, request_id
        )
    )


@app.route("/search", methods=["POST"], api_key_required=True, content_types=["*/*"])
def search() -> Response:
    request = app.current_request
    return _protected(
        lambda settings, request_id: (
            200,
            enrolment_flow.search(
                request.raw_body or b"", request.headers.get("content-type"), settings, request_id
            ),
        )
    )


@app.route("/enrolments/{subject_id}", methods=["GET"], api_key_required=True)
def enrolled_subject(subject_id: str) -> Response:
    return _protected(
        lambda settings, request_id: (200, enrolment_flow.subject(subject_id, settings, request_id))
    )


@app.route("/enrolments/{subject_id}", methods=["DELETE"], api_key_required=True)
def erase_subject(subject_id: str) -> Response:
    def action(settings: Settings, request_id: str) -> tuple[int, Any]:
        enrolment_flow.erase(subject_id, settings, request_id)
        return 204, ""

    return _protected(action)


# The API contract (openapi.yaml, served as JSON: chalicelib/api_spec.py).
@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    return api_spec.document_response(_request_id())


# --- The verification web page (chalicelib/static/, docs/web-page.md) -------
# Served by the same app so it works on the local stage out of the box. No API
# key is involved here and none is ever put in the page.

@app.route("/", methods=["GET"])
def web_page() -> Response:
    return static_assets.page_response(_request_id())


@app.route("/static/{name}", methods=["GET"])
def web_asset(name: str) -> Response:
    return static_assets.asset_response(name, _request_id())
