"""Access control that works on every stage, `chalice local` included:
who the caller is (tenant, key id, scopes), the route's scope, and an
optional CORS allow-list.

Keys and tenants (docs/deploy-access.md, chalicelib/tenants/): a key names
one tenant and its scopes. Local stage: the x-api-key header, hashed and
compared in constant time with the tenants file's and IPS_API_KEYS' digests
(chalicelib/tenants/registry.py). Cloud stages with IPS_TENANTS_PARAMETER:
API Gateway checks the key and the request context names its id, mapped to
a tenant in SSM. No key, or one naming no tenant: 401. A key without the
route's scope: 403 SCOPE_MISSING.

CORS: off unless IPS_CORS_ORIGINS lists exact origins
(`https://app.example.com`). Chalice's CORSConfig is fixed per route at
import time, so the handler does it: an allowed Origin is echoed back with
`Vary: Origin`, and OPTIONS /ips answers the browser's preflight (which never
carries the API key, so it is not key-protected)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core import errors
from chalicelib.core.logs import log_event
from chalicelib.tenants import Registry, TenantsUnavailable
from chalicelib.tenants.base import Caller, Scope, default_caller

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


def authenticate(
    registry: Registry,
    headers: Mapping[str, str],
    context: Mapping[str, Any] | None,
    request_id: str = "",
) -> Caller:
    """The Caller, or the 401 ApiError (503 when the registry cannot be
    read). Cloud stages with the tenant mapping: API Gateway checked the key
    and names it in requestContext.identity.apiKeyId. Otherwise the x-api-key
    header against the configured digests; with none configured (a
    loopback-only local run) the `default` tenant with every scope. A refusal
    is logged (never the key itself) so guessing shows up."""
    try:
        if registry.keyless:
            return default_caller()
        if registry.gateway_keys:
            identity = (context or {}).get("identity") or {}
            presented = identity.get("apiKeyId") if isinstance(identity, Mapping) else None
            caller = registry.by_api_key_id(str(presented) if presented else None)
        else:
            presented = _header(headers, API_KEY_HEADER)
            caller = registry.by_key(presented)
    except TenantsUnavailable:
        raise errors.tenants_unavailable() from None
    if caller is not None:
        return caller
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


def require_scope(caller: Caller, scope: Scope, request_id: str = "") -> None:
    """403 SCOPE_MISSING unless the caller's key carries the route's scope."""
    if caller.allows(scope):
        return
    log_event(
        "forbidden",
        request_id=request_id,
        status=403,
        tenant=caller.tenant_id,
        key=caller.key_id,
        scope=str(scope),
    )
    raise errors.scope_missing(str(scope))


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
