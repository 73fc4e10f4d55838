"""The web page routes (GET /, GET /static/{name}, GET /static/js/{name}) through
chalice.test.Client: content types, str bodies, allow-list, no secrets in the page."""
import json
import re

import pytest
from chalice.test import Client

from app import app
from chalicelib.core.errors import Code
from chalicelib.http import static_assets

JS_DIR = static_assets.STATIC_DIR / "js"
MODULES = sorted(path.name for path in JS_DIR.glob("*.js"))


def _page_script() -> str:
    """Every module of the page's script, as one text."""
    return "\n".join((JS_DIR / name).read_text("utf-8") for name in MODULES)


@pytest.fixture(params=["local", "dev"])
def client(request):
    with Client(app, stage_name=request.param) as client:
        yield client


def test_page_is_html_with_relative_asset_urls(client):
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.body.decode("utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en">' in html
    # Relative URLs only: the page must work under an API Gateway stage prefix.
    assert '<script type="module" src="static/js/main.js"></script>' in html
    assert 'href="static/style.css"' in html
    assert '<meta name="ips-endpoint" content="ips">' in html
    assert not re.search(r'(src|href)="/(?!/)', html), "absolute path breaks under /api/"
    assert "http://" not in html and "https://" not in html, "no CDN or remote asset"


@pytest.mark.parametrize("path, content_type", [
    ("style.css", "text/css; charset=utf-8"),
    *[(f"js/{name}", "application/javascript; charset=utf-8") for name in MODULES],
])
def test_assets_served_with_their_types(client, path, content_type):
    response = client.http.get(f"/static/{path}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body.decode("utf-8") == (static_assets.STATIC_DIR / path).read_text("utf-8")


def test_allow_list_is_exactly_the_page_files():
    # A module added to static/js/ without its line in ASSETS (or a line left
    # for a deleted one) fails here, not in a browser.
    assert set(static_assets.ASSETS) == ({"style.css"} | {f"js/{name}" for name in MODULES}
                                         | set(static_assets.LIVENESS))
    assert "main.js" in MODULES


def test_every_module_the_page_imports_is_served(client):
    # The import graph from main.js: each relative import names a listed module.
    imported = set()
    for name in MODULES:
        imported |= set(re.findall(r"from '\./([\w-]+\.js)'", (JS_DIR / name).read_text("utf-8")))
    assert imported and imported <= set(MODULES)
    assert imported | {"main.js"} == set(MODULES), "a module nothing imports"


def test_text_assets_are_str_bodies_not_binary():
    # API Gateway passes str bodies through; bytes would need binary media types.
    for response in (static_assets.page_response("r"),
                     static_assets.asset_response("main.js", "r", folder="js"),
                     static_assets.asset_response("style.css", "r")):
        assert isinstance(response.body, str)
        assert response.headers["Content-Type"] not in app.api.binary_types


@pytest.mark.parametrize("path", [
    "index.html", "nope.js", "..", "..%2Fapp.py", "%2e%2e%2fapp.py", "app.js", "APP.JS",
    "static_assets.py", "main.js", "js%2Fmain.js", "js", "js/", "js/nope.js", "js/..",
    "js/..%2Fstyle.css", "js/%2e%2e%2fapp.py", "js/style.css", "js/MAIN.JS", "js/main.js.bak",
    "js/js%2Fmain.js",
])
def test_unknown_asset_is_404_json(client, path):
    response = client.http.get(f"/static/{path}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert body["code"] == "NOT_FOUND" and body["request_id"]


def test_path_traversal_never_reads_outside_the_allow_list():
    for name in ("../app.py", "../../app.py", "/etc/passwd", "static/../app.py", "js/main.js"):
        assert static_assets.asset_response(name, "r").status_code == 404
    for name in ("../app.py", "../style.css", "/etc/passwd", "main.js/..", "../js/main.js"):
        assert static_assets.asset_response(name, "r", folder="js").status_code == 404


def test_page_contains_no_api_key_or_secret(client):
    texts = [client.http.get(path).body.decode("utf-8")
             for path in ("/", "/static/style.css", *[f"/static/js/{m}" for m in MODULES])]
    for text in texts:
        assert not re.search(r"x-api-key", text, re.IGNORECASE)
        assert not re.search(r"api[_-]?key\s*[:=]", text, re.IGNORECASE)
        assert not re.search(r"\b[A-Za-z0-9]{40}\b", text), "looks like an API Gateway key"
        assert "AKIA" not in text


def test_page_security_headers(client):
    headers = client.http.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    # The page's inline script is allowed by its hash, nothing else inline.
    assert "'unsafe-inline'" not in csp and "'sha256-" in csp
    assert headers["Cache-Control"] == "no-cache"


def test_every_api_error_code_has_a_message_in_the_page():
    js = (JS_DIR / "messages.js").read_text("utf-8")
    codes = ["EMPTY_BODY", "INVALID_JSON", "MISSING_FIELD", "INVALID_FIELD_TYPE",
             "INVALID_BASE64", "UNSUPPORTED_MEDIA_TYPE", "BODY_TOO_LARGE", "IMAGE_TOO_LARGE",
             "IMAGE_TOO_MANY_PIXELS", "UNSUPPORTED_IMAGE_FORMAT", "INVALID_IMAGE",
             "IMAGE_TOO_SMALL", "NO_FACE", "MULTIPLE_FACES", "FACE_TOO_SMALL",
             "FACE_TOO_BLURRY", "ENGINE_BUSY", "ENGINE_TIMEOUT", "ENGINE_ERROR",
             "ENGINE_UNAVAILABLE", "INTERNAL_ERROR", "UNAUTHORIZED"]
    missing = [code for code in codes if f"case '{code}':" not in js]
    assert not missing


def test_every_code_the_server_can_raise_is_known_to_the_page():
    # Any ApiError code in chalicelib must have a case in describeError (messages.js).
    js = (JS_DIR / "messages.js").read_text("utf-8")
    js = js[js.index("export function describeError("):]
    js = js[:js.index("\n}\n")]
    server_codes = {str(code) for code in Code}
    server_codes.discard("NOT_FOUND")   # the asset route's own 404, not the page's concern
    server_codes.discard("METHOD_NOT_ALLOWED")   # the page only ever POSTs
    # The enrolment routes' own codes (docs/enrolment.md): the page never calls them.
    server_codes -= {"INVALID_SUBJECT_ID", "SUBJECT_NOT_FOUND", "STORE_BUSY", "STORE_UNAVAILABLE"}
    # Idempotency keys are for back ends' retries (POST /enrolments); the page sends none.
    server_codes -= {"INVALID_IDEMPOTENCY_KEY", "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS"}
    assert not [code for code in sorted(server_codes) if f"case '{code}':" not in js]


def _reason_enums(node) -> set:
    """Every enum listed for the items of a property named `reasons`."""
    found: set = set()
    if isinstance(node, dict):
        reasons = (node.get("properties") or {}).get("reasons")
        if isinstance(reasons, dict):
            found |= set((reasons.get("items") or {}).get("enum") or [])
        for value in node.values():
            found |= _reason_enums(value)
    elif isinstance(node, list):
        for value in node:
            found |= _reason_enums(value)
    return found


def test_every_reason_code_has_a_message_in_the_page():
    # The /ips answer's `reasons` (issue 9): the codes the issue names, and
    # any the contract lists, each get their own sentence in describeReason.
    import yaml
    js = (JS_DIR / "messages.js").read_text("utf-8")
    body = js[js.index("export function describeReason("):]
    body = body[:body.index("\n}\n")]
    spec = yaml.safe_load((static_assets.STATIC_DIR.parents[1] / "openapi.yaml").read_text("utf-8"))
    codes = {"DOCUMENT_EXPIRED", "DOCUMENT_CHECK_DIGITS", "UNDER_MINIMUM_AGE",
             "EXPECTED_DATA_MISMATCH", "DOCUMENT_UNREADABLE", "DUPLICATE_FACE"} | _reason_enums(spec)
    codes |= _server_reason_codes()
    assert not [code for code in sorted(codes) if f"case '{code}':" not in body]


def test_page_script_never_writes_html():
    # Read document fields and server messages are untrusted: text only.
    js = _page_script()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", js)


def _server_reason_codes() -> set:
    """The codes the server itself produces: every document check failing,
    nothing read, and enrolment's duplicate."""
    from chalicelib.decision.policy import document_reasons
    from chalicelib.decision.reasons import Reason
    from chalicelib.documents.base import DocumentChecks, DocumentRead, DocumentResult
    all_failed = DocumentResult(DocumentRead(read=True), DocumentChecks(
        check_digits="fail", expired=True, minimum_age="fail", expected_data="fail"))
    unread = DocumentResult(DocumentRead.unread("unreadable"))
    codes = set(document_reasons(all_failed)) | set(document_reasons(unread))
    assert len(codes) == 5
    return codes | {Reason.DUPLICATE_FACE}


def test_page_modules_stay_small():
    # Issue 16: no hand-written page script over 450 lines.
    sizes = {name: len((JS_DIR / name).read_text("utf-8").splitlines()) for name in MODULES}
    assert max(sizes.values()) <= 450, sizes
