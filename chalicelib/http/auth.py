"""Access control that works on every stage, `chalice local` included:
an optional API-key check and an optional CORS allow-list.

API key (docs/deploy-access.md): off unless keys are configured. Keys come
from IPS_API_KEY_SHA256 (comma-separated SHA-256 hex digests, so
.chalice/config.json never holds a secret) and/or IPS_API_KEYS (plain keys,
comma-separated, for a shell environment or a secrets manager). The caller
sends the key in the `x-api-key` header, as API Gateway expects. The presented
key is hashed and compared with every configured digest by
hmac.compare_digest, without stopping at the first match, so neither the
comparison nor the number of keys leaks through timing. On the cloud stages
API Gateway checks its own keys first; this check then adds to it.

CORS: off unless IPS_CORS_ORIGINS lists exact origins
(`https://app.example.com`). Chalice's CORSConfig is fixed per route at
import time, so the handler does it: an allowed Origin is echoed back with
`Vary: Origin`, and OPTIONS /ips answers the browser's preflight (which never
carries the API key, so it is not key-protected)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from chalicelib.config.access import MAX_KEY_CHARS, key_digest
from chalicelib.core import errors
from chalicelib.core.logs import log_event

API_KEY_HEADER = "x-api-key"

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, X-Api-Key"
EXPOSED_HEADERS = "X-Request-Id, Retry-After"
PREFLIGHT_MAX_AGE_S = 600
CHALLENGE = 'ApiKey realm="ips", header="x-api-key"'


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Chalice's request headers are case-insensitive; plain dicts in tests may not be.
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def key_accepted(presented: str | None, digests: Iterable[str]) -> bool:
    if not presented or len(presented) > MAX_KEY_CHARS:
        return False
    candidate = key_digest(presented).encode("ascii")
    accepted = False
    for digest in digests:
        accepted |= hmac.compare_digest(candidate, digest.encode("ascii"))
    return accepted


def require_api_key(
    headers: Mapping[str, str], digests: tuple[str, ...], request_id: str = ""
) -> None:
    """Raise the 401 ApiError unless the check is off or the key is valid.
    A refusal is logged (never the key itself) so brute force shows up."""
    if not digests:
        return
    presented = _header(headers, API_KEY_HEADER)
    if key_accepted(presented, digests):
        return
    log_event(
        "unauthorized",
        request_id=request_id,
        status=401,
        reason="invalid_key" if presented else "missing_key",
    )
    message = (
        "A valid API key is required in the x-api-key header."
        if presented
        else "An API key is required in the x-api-key header."
    )
    raise errors.unauthorized(message, CHALLENGE)


def cors_headers(headers: Mapping[str, str], origins: tuple[str, ...]) -> dict[str, str]:
    """Headers for an actual (non-preflight) response."""
    if not origins:
        return {}
    result = {"Vary": "Origin"}
    origin = _header(headers, "origin")
    if origin and origin.rstrip("/").lower() in origins:
        result["Access-Control-Allow-Origin"] = origin
        result["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return result


def preflight_headers(headers: Mapping[str, str], origins: tuple[str, ...]) -> dict[str, str]:
    """Headers for the answer to OPTIONS /ips. Without an allowed origin the
    answer carries no Access-Control-* headers and the browser blocks the call."""
    result = {"Allow": ALLOWED_METHODS}
    if not origins:
        return result
    result["Vary"] = "Origin"
    origin = _header(headers, "origin")
    method = (_header(headers, "access-control-request-method") or "POST").upper()
    if origin and origin.rstrip("/").lower() in origins and method in ("POST", "OPTIONS"):
        result.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            }
        )
    return result
