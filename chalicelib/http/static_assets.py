"""Serves the verification web page (chalicelib/static/) from the app itself.

Only the files named in ASSETS are served: the name is looked up in a fixed
table, never joined to a path, so no request can reach another file. The
page's script is ES modules under static/js/, each listed here. Text assets
are returned as str bodies with explicit content types: API Gateway passes
str bodies through untouched. The Face Liveness island's WASM and model
weights (static/liveness/, built by `make liveness`) are bytes with a binary
content type, listed in the app's binary types; the island asks for them
with that type as its Accept header, which API Gateway needs to return them
as binary. The page loads its script and style by relative URL, so it
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

JS = "application/javascript; charset=utf-8"
# path under static/ -> content type: the allow-list of what GET
# /static/{name} and /static/js/{name} serve. A new page module is one line.
ASSETS: dict[str, str] = {
    "style.css": "text/css; charset=utf-8",
    **{
        f"js/{module}.js": JS
        for module in (
            "camera",
            "capture",
            "check",
            "config",
            "document",
            "dom",
            "images",
            "liveness",
            "main",
            "messages",
            "request",
            "result",
            "state",
        )
    },
}
WASM = "application/wasm"
BINARY = "application/octet-stream"
# The Face Liveness island (web/, issue 20): built output, git-ignored; a
# name not built yet is 404 like any unknown one.
LIVENESS: dict[str, str] = {
    "liveness/island.js": JS,
    "liveness/island.css": "text/css; charset=utf-8",
    "liveness/tfjs-backend-wasm.wasm": WASM,
    "liveness/tfjs-backend-wasm-simd.wasm": WASM,
    "liveness/tfjs-backend-wasm-threaded-simd.wasm": WASM,
    "liveness/face-model.json": "application/json",
    "liveness/face-model.bin": BINARY,
}
ASSETS.update(LIVENESS)
BINARY_TYPES = (WASM, BINARY)
PAGE = "index.html"
PAGE_TYPE = "text/html; charset=utf-8"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _read(name: str) -> str:
    return read_text(STATIC_DIR / name)


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


def _content_security_policy(html: str, liveness_region: str | None) -> str:
    # The page's one inline script (the trailing-slash fix) is allowed by its
    # hash; everything else must come from the app itself. blob: images are
    # the downscaled photos, mediastream: the camera preview. The liveness
    # island compiles TF.js's WASM ('wasm-unsafe-eval': WebAssembly only, not
    # JavaScript eval) from a blob: URL of bytes it fetched from here, and on
    # cloud stages streams the video to Rekognition's endpoint in the region.
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.encode('utf-8')).digest()).decode()}'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    streaming = (
        f" wss://streaming-rekognition.{liveness_region}.amazonaws.com"
        if liveness_region and _REGION.fullmatch(liveness_region)
        else ""
    )
    return (
        f"default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {hashes}; style-src 'self'; "
        "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
        f"connect-src 'self' blob:{streaming}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ).replace("  ", " ")


def page_response(request_id: str | None = None, liveness_region: str | None = None) -> Response:
    """The page; liveness_region (cloud stages only) lets it stream to
    Rekognition Face Liveness in that region."""
    html = _read(PAGE)
    headers = text_headers(PAGE_TYPE, request_id)
    headers["Content-Security-Policy"] = _content_security_policy(html, liveness_region)
    headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return Response(body=html, status_code=200, headers=headers)


def asset_response(name: str, request_id: str, folder: str = "") -> Response:
    # name is one path segment: an encoded "/" in it ("js%2Fmain.js") is refused.
    path = f"{folder}/{name}" if folder else name
    content_type = None if "/" in name else ASSETS.get(path)
    if content_type is None or not (STATIC_DIR / path).is_file():
        return error_response(errors.not_found(), request_id)
    body: str | bytes = (
        (STATIC_DIR / path).read_bytes() if content_type in BINARY_TYPES else _read(path)
    )
    return Response(body=body, status_code=200, headers=text_headers(content_type, request_id))
