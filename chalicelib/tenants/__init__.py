"""Tenants, their keys and scopes (chalicelib/tenants/base.py), and the
stage's registry: ``build_registry(options, ssm)`` is called once by the
composition root.

Usage::

    registry = build_registry(settings.tenants, lambda: aws.client("ssm"))
    caller = registry.by_key(headers["x-api-key"])        # local stage
    caller = registry.by_api_key_id(identity["apiKeyId"])  # cloud stages
    if caller is None: ...                                # 401
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.core.logs import log_event
from chalicelib.tenants.base import Caller, Tenant
from chalicelib.tenants.cloud import SsmTenantRegistry, TenantsUnavailable
from chalicelib.tenants.registry import Registry, TenantRegistry
from chalicelib.tenants.sources import TenantOptions, local_registry

__all__ = ["Registry", "TenantsUnavailable", "build_registry"]


class LocalRegistry:
    """IPS_TENANTS_FILE and the environment's keys, re-read when the file
    changes. A malformed edit keeps the last good tenants in use (logged):
    start-up has already refused a malformed file."""

    def __init__(self, options: TenantOptions) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._current = local_registry(options)

    def _registry(self) -> TenantRegistry:
        if not self._options.tenants_file:
            return self._current
        try:
            fresh = local_registry(self._options)
        except ValueError as exc:
            log_event(
                "tenants_reload_failed",
                source="IPS_TENANTS_FILE",
                detail=str(exc),
                kept_previous=True,
            )
            return self._current
        with self._lock:
            self._current = fresh
        return fresh

    @property
    def keyless(self) -> bool:
        return self._registry().keyless

    @property
    def gateway_keys(self) -> bool:
        return False

    def by_key(self, presented: str | None) -> Caller | None:
        return self._registry().by_key(presented)

    def by_api_key_id(self, api_key_id: str | None) -> Caller | None:
        return None

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._registry().tenant(tenant_id)


def build_registry(options: TenantOptions, ssm: Callable[[], Any]) -> Registry:
    if options.parameter:
        return SsmTenantRegistry(ssm(), options.parameter, options.cache_s)
    return LocalRegistry(options)
