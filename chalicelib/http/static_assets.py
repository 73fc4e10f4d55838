"""Serves the verification web page (chalicelib/static/) from the app itself.

Only the files named in ASSETS are served: the name is looked up in a fixed
table, never joined to a path, so no request can reach another file. All
assets are text and are returned as str bodies with explicit content types:
API Gateway passes str bodies through untouched, while bytes bodies would need
binary media types. The page loads its script and style by relative URL, so it
works under an API Gateway stage prefix (/api/) and on `chalice local` alike.
The page never holds an API key (see docs/web-page.md)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from chalice.app import Response

from chalicelib.core import errors
from chalicelib.http.responses import error_response, read_text, text_headers

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# name -> content type: the whitelist of what GET /static/{name} serves.
ASSETS: dict[str, str] = {
    "app.js": "application/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PAGE = "index.html"
PAGE_TYPE = "text/html; charset=utf-8"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _read(name: str) -> str:
    return read_text(STATIC_DIR / name)


def _content_security_policy(html: str) -> str:
    # The page's one inline script (the trailing-slash fix) is allowed by its
    # hash; everything else must come from the app itself. blob: images are
    # the downscaled photos, mediastream: the camera preview.
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.encode('utf-8')).digest()).decode()}'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ).replace("  ", " ")


def page_response(request_id: str | None = None) -> Response:
    html = _read(PAGE)
    headers = text_headers(PAGE_TYPE, request_id)
    headers["Content-Security-Policy"] = _content_security_policy(html)
    headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return Response(body=html, status_code=200, headers=headers)


def asset_response(name: str, request_id: str) -> Response:
    content_type = ASSETS.get(name)
    if content_type is None:
        return error_response(errors.not_found(), request_id)
    return Response(
        body=_read(name), status_code=200, headers=text_headers(content_type, request_id)
    )
