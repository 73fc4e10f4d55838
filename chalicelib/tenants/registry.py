"""The registry: which tenant and scopes a presented key belongs to.

``TenantRegistry`` answers for one set of tenants; where they come from
(IPS_TENANTS_FILE, IPS_API_KEYS, the cloud mapping) is chalicelib/tenants/
sources.py and cloud.py. A presented key is hashed once and compared with
every configured digest by ``hmac.compare_digest``, without stopping at the
first match, so neither the comparison nor the number of keys leaks through
timing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol

from chalicelib.tenants.base import Caller, Tenant, TenantKey

# Longer presented keys are refused before hashing (API Gateway keys are
# 20-128 characters); keeps a hostile header from costing anything.
MAX_KEY_CHARS = 256
MIN_KEY_CHARS = 20


def key_digest(key: str) -> str:
    """The SHA-256 hex digest a tenants file holds for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Registry(Protocol):
    """What the HTTP layer asks (chalicelib/http/auth.py)."""

    @property
    def keyless(self) -> bool:
        """True when no key of any kind is configured (a loopback-only local run)."""
        ...

    @property
    def gateway_keys(self) -> bool:
        """True when tenants are found by API Gateway key id (cloud stages)."""
        ...

    def by_key(self, presented: str | None) -> Caller | None: ...

    def by_api_key_id(self, api_key_id: str | None) -> Caller | None: ...

    def tenant(self, tenant_id: str) -> Tenant | None: ...


class TenantRegistry:
    """A fixed set of tenants (the file, the environment's keys, or one
    snapshot of the cloud mapping)."""

    def __init__(self, tenants: Iterable[Tenant], gateway_keys: bool = False) -> None:
        self.tenants = {tenant.id: tenant for tenant in tenants}
        self._digests: list[tuple[bytes, Tenant, TenantKey]] = []
        self._api_keys: dict[str, tuple[Tenant, TenantKey]] = {}
        for tenant in self.tenants.values():
            for key in tenant.keys:
                if key.sha256 is not None:
                    self._digests.append((key.sha256.encode("ascii"), tenant, key))
                if key.api_key_id is not None:
                    self._api_keys[key.api_key_id] = (tenant, key)
        self._gateway_keys = gateway_keys

    @property
    def keyless(self) -> bool:
        return not self._gateway_keys and not self._digests

    @property
    def gateway_keys(self) -> bool:
        return self._gateway_keys

    def by_key(self, presented: str | None) -> Caller | None:
        if not presented or len(presented) > MAX_KEY_CHARS:
            return None
        candidate = key_digest(presented).encode("ascii")
        found: Caller | None = None
        for digest, tenant, key in self._digests:
            if hmac.compare_digest(candidate, digest) and found is None:
                found = tenant.caller(key)
        return found

    def by_api_key_id(self, api_key_id: str | None) -> Caller | None:
        # The key id is not a secret (API Gateway checked the key itself).
        entry = self._api_keys.get(api_key_id or "")
        return None if entry is None else entry[0].caller(entry[1])

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)
