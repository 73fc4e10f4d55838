"""The HTTP responses the app builds in more than one place: the JSON error
every rejection uses, and a stored text file served with safe headers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from chalice.app import Response

from chalicelib.core.errors import ApiError


def error_response(
    error: ApiError, request_id: str, extra_headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        body={**error.body(), "request_id": request_id},
        status_code=error.status,
        headers={
            "Content-Type": "application/json",
            **error.headers,
            **(extra_headers or {}),
            "X-Request-Id": request_id,
        },
    )


@functools.cache
def read_text(path: Path) -> str:
    """A packaged file's text, read once per process."""
    return path.read_text(encoding="utf-8")


def text_headers(content_type: str, request_id: str | None) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if request_id:
        headers["X-Request-Id"] = request_id
    return headers
