"""What `make run` checks before a request reaches the app, so the server
fails closed (docs/operations.md, "Exposure"):

- a Host allow-list (IPS_ALLOWED_HOSTS; loopback names by default, plus the
  address the server is bound to): another Host is 421 HOST_NOT_ALLOWED, so a
  web page that DNS-rebinds its own name to 127.0.0.1 cannot read answers;
- /metrics needs an operator's key (IPS_METRICS_KEY_SHA256, sent as
  ``Authorization: Bearer <key>``, what Prometheus's ``authorization``
  setting sends): metrics cover every tenant, so no tenant's key opens them;
  with no key of any kind configured the server is loopback-only anyway;
- a keyless server refuses to listen on anything but loopback;
- headers every answer carries (nosniff; no-store unless the app chose).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
MAX_HOST_CHARS = 255
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_allowed_hosts(env: Mapping[str, str], bind_host: str) -> frozenset[str]:
    """The names this server answers for: IPS_ALLOWED_HOSTS (host names or
    addresses, no ports, no wildcards) or the loopback names, and always the
    address it is bound to, when that is one address."""
    raw = env.get("IPS_ALLOWED_HOSTS", "").strip()
    names = set(LOOPBACK_NAMES)
    if raw:
        names = set()
        for item in (part.strip().lower() for part in raw.split(",")):
            if not item:
                continue
            if not (_is_ip(item) or _DNS_NAME.fullmatch(item)):
                raise ValueError(
                    "IPS_ALLOWED_HOSTS must list exact host names or addresses, "
                    "without ports or wildcards"
                )
            names.add(item.strip("[]"))
    if bind_host not in WILDCARD_BINDS:
        names.add(bind_host.strip("[]").lower())
    return frozenset(names)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def host_name(header: str | None) -> str | None:
    """The name of a Host header (port and IPv6 brackets removed), lower case."""
    if not header or len(header) > MAX_HOST_CHARS:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return name or None


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    name = host_name(header)
    return name is not None and name in allowed


def parse_metrics_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    digests = []
    for item in env.get("IPS_METRICS_KEY_SHA256", "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if len(item) != 64 or any(c not in "0123456789abcdef" for c in item):
            raise ValueError("IPS_METRICS_KEY_SHA256 must be comma-separated SHA-256 hex digests")
        digests.append(item)
    return tuple(digests)


def metrics_authorised(authorization: str | None, digests: tuple[str, ...]) -> bool:
    """A bearer key whose SHA-256 is configured; every digest compared
    (hmac.compare_digest, no early exit)."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key or len(key) > 256:
        return False
    candidate = hashlib.sha256(key.strip().encode("utf-8")).hexdigest().encode()
    found = False
    for digest in digests:
        found |= hmac.compare_digest(candidate, digest.encode())
    return found


def keyless_public_refusal(bind_host: str, keyless: bool) -> str | None:
    """The start-up refusal for a keyless server on a non-loopback address."""
    if not keyless or is_loopback(bind_host):
        return None
    return (
        f"refusing to serve on {bind_host!r} with no API keys: set IPS_API_KEYS "
        "(or IPS_API_KEY_SHA256) or IPS_TENANTS_FILE, or bind to 127.0.0.1"
    )


def with_safe_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """nosniff on every answer; no-store unless the app set a Cache-Control
    (the page and its assets say no-cache; API answers carry personal data)."""
    names = {name.lower() for name, _ in headers}
    out = list(headers)
    if "x-content-type-options" not in names:
        out.append(("X-Content-Type-Options", "nosniff"))
    if "cache-control" not in names:
        out.append(("Cache-Control", "no-store"))
    return out
