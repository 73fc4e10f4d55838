"""The cloud stages' tenant mapping: API Gateway checks the key, and the
request's ``requestContext.identity.apiKeyId`` names it; which tenant and
scopes that key has is kept in SSM Parameter Store, one SecureString
parameter per tenant under IPS_TENANTS_PARAMETER:

    /ips/prod/tenants/acme = {"id": "acme", "keys": [{"api_key_id": "a1b2c3d4e5",
                              "scopes": ["verify"]}], "webhook": {...}}

(the tenants file's shape, one tenant per parameter; the parameter's last
path segment must be the tenant id). An operator adds a tenant or revokes a
key with ``aws ssm put-parameter`` / ``delete-parameter``, no deploy; every
process re-reads the path after IPS_TENANTS_CACHE_S (60 s), so a revocation
holds within that.

Why SSM rather than a DynamoDB item: SecureString keeps webhook secrets
encrypted under KMS, each tenant is 4 KB at most (8 KB on the advanced
tier), one read of the path serves every key, and no table needs creating:
an empty path simply authenticates nobody (fail closed)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.core.logs import log_event
from chalicelib.tenants.base import Caller, Tenant
from chalicelib.tenants.document import check_unique, parse_tenant
from chalicelib.tenants.registry import TenantRegistry


class TenantsUnavailable(Exception):
    """The mapping could not be read and no earlier copy is held: nobody is
    let in (the HTTP layer answers 503)."""


class SsmTenantRegistry:
    """The Registry of the cloud stages: a snapshot of the SSM path, re-read
    after ``cache_s``. When a re-read fails (SSM throttled, a malformed edit)
    the last good snapshot stays in use and the failure is logged; with no
    snapshot at all, TenantsUnavailable."""

    def __init__(
        self,
        client: Any,
        path: str,
        cache_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._path = path
        self._cache_s = cache_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: TenantRegistry | None = None
        self._read_at = 0.0

    @property
    def keyless(self) -> bool:
        return False

    @property
    def gateway_keys(self) -> bool:
        return True

    def by_key(self, presented: str | None) -> Caller | None:
        return None  # API Gateway's keys only: x-api-key is checked by the gateway

    def by_api_key_id(self, api_key_id: str | None) -> Caller | None:
        return self._current().by_api_key_id(api_key_id) if api_key_id else None

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._current().tenant(tenant_id)

    def _current(self) -> TenantRegistry:
        with self._lock:
            now = self._clock()
            if self._snapshot is None or now - self._read_at >= self._cache_s:
                self._read_at = now  # a failing SSM is asked again only after cache_s
                try:
                    self._snapshot = TenantRegistry(self._read(), gateway_keys=True)
                except Exception as exc:  # keep the last good mapping rather than fail
                    log_event(
                        "tenants_reload_failed",
                        source=self._path,
                        error=type(exc).__name__,
                        # our own messages name the parameter and field, never a value
                        detail=str(exc) if isinstance(exc, ValueError) else None,
                        kept_previous=self._snapshot is not None,
                    )
                    if self._snapshot is None:
                        raise TenantsUnavailable() from None
            return self._snapshot

    def _read(self) -> tuple[Tenant, ...]:
        tenants = []
        pages = self._client.get_paginator("get_parameters_by_path").paginate(
            Path=self._path, Recursive=False, WithDecryption=True
        )
        for page in pages:
            for parameter in page.get("Parameters", []):
                name = str(parameter["Name"])
                try:
                    tenant = parse_tenant(json.loads(parameter["Value"]), name)
                except ValueError as exc:
                    # Never the value: it holds a webhook secret.
                    raise ValueError(f"{name}: {str(exc).splitlines()[0]}") from None
                if name.rsplit("/", 1)[-1] != tenant.id:
                    raise ValueError(f"{name} holds the tenant {tenant.id!r}: name it after it")
                tenants.append(tenant)
        return check_unique(tenants)
