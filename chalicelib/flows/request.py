"""What every flow receives besides its Services: the raw request and who
sent it."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.tenants.base import Caller


@dataclass(frozen=True)
class Request:
    """A request as the HTTP layer hands it to a flow (no Chalice types).
    ``caller`` is authenticated and holds the route's scope; flows pass
    ``caller.tenant_id`` to every store call."""

    body: bytes
    content_type: str | None
    request_id: str
    caller: Caller

    @property
    def tenant_id(self) -> str:
        """The tenant every store call of this request is made for."""
        return self.caller.tenant_id
