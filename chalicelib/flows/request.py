"""What every flow receives besides its Services: the raw request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """A request as the HTTP layer hands it to a flow (no Chalice types).
    The caller (tenant, key, scopes) joins it when tenants land (issue 17)."""

    body: bytes
    content_type: str | None
    request_id: str
