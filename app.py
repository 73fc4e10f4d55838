"""ips: ID + Selfie identity verification. Routes only: each takes the
Services of the composition root (chalicelib/backends.py) through the
handler (chalicelib/http/handler.py), runs a flow (chalicelib/flows/) and
turns its result into JSON (chalicelib/http/bodies.py)."""

from chalice.app import Chalice, Request, Response

from chalicelib import backends
from chalicelib.backends import Services
from chalicelib.core import errors
from chalicelib.flows import enrol as enrolment
from chalicelib.flows import request as flow
from chalicelib.flows.read_document import read_document
from chalicelib.flows.search import search as search_faces
from chalicelib.flows.verify import verify
from chalicelib.http import api_spec, bodies, handler, static_assets
from chalicelib.http.responses import error_response
from chalicelib.tenants.base import Scope

app = Chalice(app_name="ips")
backends.root().settings()  # a malformed stage setting fails the start-up, not a request


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before any route runs
    return request


def _request_id() -> str:
    return handler.request_id(_request())


# Other methods get the API's JSON error (405 + Allow) rather than Chalice's
# or API Gateway's differently shaped ones. Key-protected like POST, so an
# anonymous caller never invokes the function.
OTHER_METHODS = ["GET", "HEAD", "PUT", "PATCH", "DELETE"]


# --- Verification (chalicelib/flows/verify.py) -------------------------------
# content_types="*/*" lets the handler answer a wrong Content-Type with the
# API's own JSON error instead of Chalice's differently shaped one.
@app.route("/ips", methods=["POST"], api_key_required=True, content_types=["*/*"])
def ips() -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        result = verify(services, request)
        return 200, bodies.verification(result, services.settings, request.request_id)

    return handler.handle(_request(), action, Scope.VERIFY, cors=True)


@app.route("/ips", methods=["OPTIONS"])
def ips_preflight() -> Response:
    return handler.preflight(_request())


@app.route("/ips", methods=OTHER_METHODS, api_key_required=True, content_types=["*/*"])
def ips_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/ips", "POST, OPTIONS"), _request_id())


# --- The document alone (docs/document-reading.md) ------------------------------
# The page shows the person what was read before the selfie step.
@app.route("/documents", methods=["POST"], api_key_required=True, content_types=["*/*"])
def documents() -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        return 200, bodies.document(read_document(services, request), request.request_id)

    return handler.handle(_request(), action, Scope.DOCUMENTS, cors=True)


@app.route("/documents", methods=["OPTIONS"])
def documents_preflight() -> Response:
    return handler.preflight(_request())


@app.route("/documents", methods=OTHER_METHODS, api_key_required=True, content_types=["*/*"])
def documents_wrong_method() -> Response:
    return error_response(errors.method_not_allowed("/documents", "POST, OPTIONS"), _request_id())


# --- Enrolment and duplicate search (chalicelib/flows/enrol.py, search.py; docs/enrolment.md)
# Called by a business's back end, not by browsers: no CORS.
@app.route("/enrolments", methods=["POST"], api_key_required=True, content_types=["*/*"])
def enrol() -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        result = enrolment.enrol(services, request)
        return result.status, bodies.enrolment(result, services.settings, request.request_id)

    # A retried enrolment (Idempotency-Key) gets the first answer, stores nothing more.
    return handler.handle(_request(), action, Scope.ENROL, idempotent="POST /enrolments")


@app.route("/search", methods=["POST"], api_key_required=True, content_types=["*/*"])
def search() -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        return 200, bodies.search(search_faces(services, request), request.request_id)

    return handler.handle(_request(), action, Scope.SEARCH)


@app.route("/enrolments/{subject_id}", methods=["GET"], api_key_required=True)
def enrolled_subject(subject_id: str) -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        info = enrolment.subject(services, subject_id, request)
        return 200, bodies.subject(info, request.request_id)

    return handler.handle(_request(), action, Scope.ENROL)


@app.route("/enrolments/{subject_id}", methods=["DELETE"], api_key_required=True)
def erase_subject(subject_id: str) -> Response:
    def action(services: Services, request: flow.Request) -> tuple[int, object]:
        enrolment.erase(services, subject_id, request)
        return 204, ""

    return handler.handle(_request(), action, Scope.ERASE)


# --- The API contract (openapi.yaml, served as JSON: chalicelib/http/api_spec.py) ----
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
    region = backends.root().services().liveness_region()
    return static_assets.page_response(_request_id(), region)


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
