"""What every flow receives besides its Services: the raw request."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.tenants.base import DEFAULT_TENANT


@dataclass(frozen=True)
class Request:
    """A request as the HTTP layer hands it to a flow (no Chalice types).
    Every store call takes `tenant_id` first; until the HTTP handler
    authenticates a Caller (issue 17), it is the "default" tenant."""

    body: bytes
    content_type: str | None
    request_id: str
    tenant_id: str = DEFAULT_TENANT
