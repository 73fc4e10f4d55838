"""ips: ID + Selfie identity verification. Routes only; the logic is in chalicelib."""
import uuid

from chalice import Chalice, Response

from chalicelib.errors import ApiError
from chalicelib.settings import load_settings
from chalicelib.verification import internal_error, verify

app = Chalice(app_name="ips")
load_settings()  # a malformed stage setting fails the deployment's start-up, not a request

def _request_id() -> str:
    context = app.current_request.context or {}
    return context.get("requestId") or str(uuid.uuid4())


def _error_response(error: ApiError, request_id: str) -> Response:
    return Response(body={**error.body(), "request_id": request_id},
                    status_code=error.status,
                    headers={**error.headers, "X-Request-Id": request_id})


# content_types="*/*" lets the handler answer a wrong Content-Type with the
# API's own JSON error instead of Chalice's differently shaped one.
@app.route("/ips", methods=["POST"], api_key_required=True, content_types=["*/*"])
def ips() -> Response:
    request = app.current_request
    request_id = _request_id()
    try:
        body = verify(request.raw_body or b"", request.headers.get("content-type"),
                      load_settings(), request_id)
    except ApiError as error:
        return _error_response(error, request_id)
    except Exception as exc:  # our bug: opaque 500, details only in the log
        return _error_response(internal_error(exc, request_id), request_id)
    return Response(body=body, status_code=200, headers={"X-Request-Id": request_id})


# --- The verification web page (chalicelib/static/, docs/web-page.md) -------
# Served by the same app so it works on the local stage out of the box. No API
# key is involved here and none is ever put in the page.
from chalicelib import static_assets  # noqa: E402


@app.route("/", methods=["GET"])
def web_page() -> Response:
    return static_assets.page_response(_request_id())


@app.route("/static/{name}", methods=["GET"])
def web_asset(name: str) -> Response:
    return static_assets.asset_response(name, _request_id())
