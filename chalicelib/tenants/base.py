"""Tenants: the client organisations sharing one deployment, their API keys
and what each key may do (docs/deploy-access.md).

The HTTP layer authenticates a request and hands the flow a ``Caller``;
every flow and every store call takes ``caller.tenant_id`` explicitly, so
nothing of one tenant is ever visible to another."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do; each route requires one (chalicelib/http/)."""

    VERIFY = "verify"  # POST /ips, verification sessions and records
    DOCUMENTS = "documents"  # POST /documents
    ENROL = "enrol"  # POST /enrolments, GET /enrolments/{id}
    SEARCH = "search"  # POST /search
    ERASE = "erase"  # DELETE /enrolments/{id}
    REVIEW = "review"  # the review queue


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)

# The tenant of IPS_API_KEYS / IPS_API_KEY_SHA256 and of a keyless local run.
DEFAULT_TENANT = "default"
# The key id of a request on a keyless local run (loopback only: the server
# refuses to listen elsewhere without keys).
ANONYMOUS_KEY = "anonymous"

# Tenant ids become part of store keys and Rekognition collection names
# ([a-zA-Z0-9_.-]{1,255}): lower-case letters, digits and '-', at most 32.
TENANT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# Key ids are written in logs and audit trails instead of the key.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant, the key (by id, never its value) and its scopes."""

    tenant_id: str
    key_id: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class TenantKey:
    """One API key of a tenant. Local stages know it by ``sha256`` (hex of
    the key's SHA-256; the key itself is never stored); cloud stages by the
    API Gateway key's id (``api_key_id``)."""

    key_id: str
    scopes: frozenset[Scope]
    sha256: str | None = None
    api_key_id: str | None = None


@dataclass(frozen=True)
class Webhook:
    """Where the tenant's signed webhooks go (used by the webhook work)."""

    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Tenant:
    id: str
    keys: tuple[TenantKey, ...]
    webhook: Webhook | None = None

    def caller(self, key: TenantKey) -> Caller:
        return Caller(self.id, key.key_id, key.scopes)


def default_caller() -> Caller:
    """A keyless local run: one tenant, every scope."""
    return Caller(DEFAULT_TENANT, ANONYMOUS_KEY, ALL_SCOPES)
