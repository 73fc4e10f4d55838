"""The access settings' parsers: accepted API keys (as SHA-256 digests) and
the CORS allow-list. The checks themselves are chalicelib.http.auth."""

from __future__ import annotations

import hashlib
import re

from chalicelib.config import env as envs
from chalicelib.config.env import Env, SettingError

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")
# Longer presented keys are rejected before hashing (API Gateway keys are
# 20-128 characters); keeps a hostile header from costing anything.
MAX_KEY_CHARS = 256


def key_digest(key: str) -> str:
    """The SHA-256 hex digest IPS_API_KEY_SHA256 holds for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_api_key_hashes(env: Env) -> tuple[str, ...]:
    """Digests of every configured key; empty tuple: the check is off.
    A malformed digest fails at start-up rather than locking everyone out."""
    digests = []
    for item in envs.items(env, "IPS_API_KEY_SHA256"):
        item = item.lower()
        if not _SHA256_HEX.match(item):
            raise SettingError("IPS_API_KEY_SHA256 must be comma-separated SHA-256 hex digests")
        digests.append(item)
    for key in envs.items(env, "IPS_API_KEYS"):
        if len(key) < 20 or len(key) > MAX_KEY_CHARS:
            raise SettingError(f"IPS_API_KEYS: each key must be 20-{MAX_KEY_CHARS} characters")
        digests.append(key_digest(key))
    return tuple(dict.fromkeys(digests))


def parse_cors_origins(env: Env) -> tuple[str, ...]:
    origins = []
    for item in envs.items(env, "IPS_CORS_ORIGINS"):
        origin = item.rstrip("/")
        if not _ORIGIN.match(origin):
            raise SettingError(
                "IPS_CORS_ORIGINS must list exact origins such as "
                "https://app.example.com (no wildcards or paths)"
            )
        origins.append(origin.lower())
    return tuple(origins)
