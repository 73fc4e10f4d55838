"""The tenants document: the one JSON shape an operator writes, in
IPS_TENANTS_FILE (local stage) or as one SSM parameter per tenant (cloud
stages, chalicelib/tenants/cloud.py):

    {"tenants": [{"id": "acme",
                  "keys": [{"id": "acme-web", "sha256": "<hex>", "scopes": ["verify"]}],
                  "webhook": {"url": "https://acme.example/ips", "secret": "..."}}]}

Cloud keys name the API Gateway key instead of a digest:
``{"api_key_id": "a1b2c3d4e5", "scopes": [...]}``. Every mistake (an unknown
field or scope, a repeated id or key) is a ValueError naming where it is, so
a bad edit fails the start-up or the reload, never silently opens a door."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from chalicelib.tenants.base import (
    KEY_ID_PATTERN,
    TENANT_ID_PATTERN,
    Scope,
    Tenant,
    TenantKey,
    Webhook,
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_API_KEY_ID = re.compile(r"[A-Za-z0-9]{1,128}")
_TENANT_FIELDS = {"id", "keys", "webhook"}
_KEY_FIELDS = {"id", "sha256", "api_key_id", "scopes"}
_WEBHOOK_FIELDS = {"url", "secret"}
MIN_WEBHOOK_SECRET = 16
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def parse_document(document: Any) -> tuple[Tenant, ...]:
    """The tenants of a whole document ``{"tenants": [...]}``."""
    if not isinstance(document, dict) or set(document) != {"tenants"}:
        raise ValueError('must be a JSON object {"tenants": [...]}')
    items = document["tenants"]
    if not isinstance(items, list):
        raise ValueError('"tenants" must be a list')
    return check_unique(parse_tenant(item, f"tenants[{i}]") for i, item in enumerate(items))


def parse_tenant(item: Any, where: str) -> Tenant:
    _object(item, where, _TENANT_FIELDS, required={"id", "keys"})
    tenant_id = item["id"]
    if not isinstance(tenant_id, str) or not TENANT_ID_PATTERN.fullmatch(tenant_id):
        raise ValueError(f"{where}.id must be 1-32 lower-case letters, digits or '-'")
    keys = item["keys"]
    if not isinstance(keys, list):
        raise ValueError(f"{where}.keys must be a list")
    parsed = tuple(_key(key, f"{where}.keys[{i}]") for i, key in enumerate(keys))
    webhook = _webhook(item["webhook"], f"{where}.webhook") if "webhook" in item else None
    return Tenant(tenant_id, parsed, webhook)


def check_unique(tenants: Iterable[Tenant]) -> tuple[Tenant, ...]:
    """Refuse a tenant id, a key id or a key listed twice: one key must
    always name exactly one tenant."""
    result = tuple(tenants)
    seen: dict[str, set[str]] = {"tenant id": set(), "key id": set(), "key": set()}
    for tenant in result:
        _once(seen["tenant id"], tenant.id, "tenant id")
        for key in tenant.keys:
            _once(seen["key"], key.sha256 or f"api:{key.api_key_id}", "key")
            _once(seen["key id"], key.key_id, "key id")
    return result


def _once(seen: set[str], value: str, what: str) -> None:
    if value in seen:
        # Never quote a key (or its digest) in an error message.
        shown = "" if what == "key" else f" {value!r}"
        raise ValueError(f"{what}{shown} is listed twice")
    seen.add(value)


def _object(item: Any, where: str, allowed: set[str], required: set[str]) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be a JSON object")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValueError(f"{where} has unknown field(s): {', '.join(unknown)}")
    missing = sorted(required - set(item))
    if missing:
        raise ValueError(f"{where} lacks field(s): {', '.join(missing)}")


def _key(item: Any, where: str) -> TenantKey:
    _object(item, where, _KEY_FIELDS, required={"scopes"})
    digest, api_key_id = item.get("sha256"), item.get("api_key_id")
    if (digest is None) == (api_key_id is None):
        raise ValueError(f"{where} needs exactly one of sha256 or api_key_id")
    if digest is not None:
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest.lower()):
            raise ValueError(f"{where}.sha256 must be the 64-hex SHA-256 digest of the key")
        digest = digest.lower()
    if api_key_id is not None and (
        not isinstance(api_key_id, str) or not _API_KEY_ID.fullmatch(api_key_id)
    ):
        raise ValueError(f"{where}.api_key_id must be an API Gateway key id")
    key_id = item.get("id")
    if key_id is None:
        # A digest's first 12 hex digits name a random key without revealing it.
        key_id = api_key_id if digest is None else f"key-{digest[:12]}"
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
        raise ValueError(f"{where}.id must be 1-64 letters, digits or '_.:-'")
    return TenantKey(key_id, _scopes(item["scopes"], f"{where}.scopes"), digest, api_key_id)


def _scopes(value: Any, where: str) -> frozenset[Scope]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} must be a non-empty list of scopes")
    known = {scope.value for scope in Scope}
    for scope in value:
        if scope not in known:
            raise ValueError(
                f"{where}: unknown scope {scope!r} (known: {', '.join(sorted(known))})"
            )
    return frozenset(Scope(scope) for scope in value)


def _webhook(item: Any, where: str) -> Webhook:
    _object(item, where, _WEBHOOK_FIELDS, required=_WEBHOOK_FIELDS)
    url, secret = item["url"], item["secret"]
    parts = urlsplit(url) if isinstance(url, str) else None
    secure = parts is not None and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)
    )
    if parts is None or not secure or not parts.hostname:
        raise ValueError(f"{where}.url must be an https:// URL (http:// only to loopback)")
    if not isinstance(secret, str) or len(secret) < MIN_WEBHOOK_SECRET:
        raise ValueError(f"{where}.secret must be at least {MIN_WEBHOOK_SECRET} characters")
    return Webhook(url, secret)


def as_mapping(tenants: Iterable[Tenant]) -> Mapping[str, Tenant]:
    return {tenant.id: tenant for tenant in tenants}
