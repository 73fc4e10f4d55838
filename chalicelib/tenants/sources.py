"""Where the tenants come from, read from the environment:

- IPS_TENANTS_FILE: the tenants document (chalicelib/tenants/document.py),
  a JSON file that must be mode 0600 (it holds webhook secrets). Read again
  when it changes (its mtime or size), so an operator adds a tenant or
  revokes a key without a restart; a malformed file fails the start-up, and
  a malformed edit fails every request with the file's error until mended,
  never opening the door.
- IPS_API_KEYS (plain keys) / IPS_API_KEY_SHA256 (their SHA-256 digests):
  one tenant, ``default``, with every scope: the single-client set-up
  before tenants existed keeps working.
- IPS_TENANTS_PARAMETER (cloud stages): an SSM parameter path holding one
  tenant document per parameter, found by API Gateway key id
  (chalicelib/tenants/cloud.py).

Every malformed value is a ValueError naming the variable."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.tenants.base import ALL_SCOPES, DEFAULT_TENANT, Tenant, TenantKey
from chalicelib.tenants.document import check_unique, parse_document
from chalicelib.tenants.registry import MAX_KEY_CHARS, MIN_KEY_CHARS, TenantRegistry, key_digest

_SHA256_HEX = frozenset("0123456789abcdef")
# The SSM parameter path: /ips/prod/tenants (no trailing slash).
_MAX_PARAMETER_CHARS = 1000
DEFAULT_CACHE_S = 60.0


@dataclass(frozen=True)
class TenantOptions:
    """The stage's tenant sources (chalicelib/config/settings.py)."""

    tenants_file: str | None = None  # IPS_TENANTS_FILE
    key_hashes: tuple[str, ...] = ()  # IPS_API_KEYS and IPS_API_KEY_SHA256, as digests
    parameter: str | None = None  # IPS_TENANTS_PARAMETER (cloud)
    cache_s: float = DEFAULT_CACHE_S  # IPS_TENANTS_CACHE_S (cloud)


def _split(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_key_hashes(env: Mapping[str, str]) -> tuple[str, ...]:
    """Digests of IPS_API_KEY_SHA256 and of IPS_API_KEYS' keys."""
    digests = []
    for item in _split(env.get("IPS_API_KEY_SHA256", "")):
        item = item.lower()
        if len(item) != 64 or not set(item) <= _SHA256_HEX:
            raise ValueError("IPS_API_KEY_SHA256 must be comma-separated SHA-256 hex digests")
        digests.append(item)
    for key in _split(env.get("IPS_API_KEYS", "")):
        if not MIN_KEY_CHARS <= len(key) <= MAX_KEY_CHARS:
            raise ValueError(
                f"each IPS_API_KEYS key must be {MIN_KEY_CHARS}-{MAX_KEY_CHARS} characters"
            )
        digests.append(key_digest(key))
    return tuple(dict.fromkeys(digests))


def parse_tenant_options(env: Mapping[str, str]) -> TenantOptions:
    """The options, with the tenants file read and checked now: a malformed
    one fails the start-up, naming IPS_TENANTS_FILE."""
    path = env.get("IPS_TENANTS_FILE", "").strip() or None
    parameter = env.get("IPS_TENANTS_PARAMETER", "").strip() or None
    if parameter is not None and (
        not parameter.startswith("/") or parameter.endswith("/") or len(parameter) > 1000
    ):
        raise ValueError("IPS_TENANTS_PARAMETER must be an SSM path such as /ips/prod/tenants")
    raw_cache = env.get("IPS_TENANTS_CACHE_S", "").strip()
    try:
        cache_s = float(raw_cache) if raw_cache else DEFAULT_CACHE_S
    except ValueError:
        raise ValueError("IPS_TENANTS_CACHE_S must be a number of seconds") from None
    if not 0 <= cache_s <= 3600:
        raise ValueError("IPS_TENANTS_CACHE_S must be between 0 and 3600")
    options = TenantOptions(path, parse_key_hashes(env), parameter, cache_s)
    local_registry(options)  # fail now, not on a customer's request
    return options


def env_tenant(key_hashes: tuple[str, ...]) -> Tenant:
    """IPS_API_KEYS / IPS_API_KEY_SHA256 as the ``default`` tenant, every scope."""
    keys = tuple(TenantKey(f"key-{d[:12]}", ALL_SCOPES, sha256=d) for d in key_hashes)
    return Tenant(DEFAULT_TENANT, keys)


class _FileCache:
    """The tenants file parsed once per version (mtime, size, inode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[tuple[int, int, int], tuple[Tenant, ...]]] = {}

    def load(self, path: str) -> tuple[Tenant, ...]:
        try:
            info = os.stat(path)
        except OSError as exc:
            raise ValueError(f"IPS_TENANTS_FILE cannot be read: {exc.strerror}") from None
        version = (info.st_mtime_ns, info.st_size, info.st_ino)
        with self._lock:
            cached = self._seen.get(path)
            if cached is not None and cached[0] == version:
                return cached[1]
        tenants = read_tenants_file(path)
        with self._lock:
            self._seen[path] = (version, tenants)
        return tenants


_files = _FileCache()


def read_tenants_file(path: str) -> tuple[Tenant, ...]:
    try:
        with open(path, "rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if mode & 0o077:
                raise ValueError(
                    f"IPS_TENANTS_FILE must be readable by its owner only (mode 0600, "
                    f"it is {mode:04o}): chmod 600 the file"
                )
            raw = handle.read()
    except OSError as exc:
        raise ValueError(f"IPS_TENANTS_FILE cannot be read: {exc.strerror}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ValueError("IPS_TENANTS_FILE is not valid JSON in UTF-8") from None
    try:
        return parse_document(document)
    except ValueError as exc:
        raise ValueError(f"IPS_TENANTS_FILE: {exc}") from None


def local_registry(options: TenantOptions) -> TenantRegistry:
    """The file's tenants plus the environment's ``default`` tenant."""
    tenants: list[Tenant] = []
    if options.tenants_file:
        tenants.extend(_files.load(options.tenants_file))
        if any(key.api_key_id for tenant in tenants for key in tenant.keys):
            raise ValueError(
                "IPS_TENANTS_FILE: api_key_id keys are for the cloud mapping "
                "(IPS_TENANTS_PARAMETER); give local keys as sha256"
            )
    if options.key_hashes:
        if any(tenant.id == DEFAULT_TENANT for tenant in tenants):
            raise ValueError(
                "IPS_TENANTS_FILE defines the tenant 'default', which IPS_API_KEYS / "
                "IPS_API_KEY_SHA256 also name: keep one"
            )
        tenants.append(env_tenant(options.key_hashes))
    try:
        return TenantRegistry(check_unique(tenants))
    except ValueError as exc:
        raise ValueError(f"IPS_TENANTS_FILE / IPS_API_KEYS: {exc}") from None
