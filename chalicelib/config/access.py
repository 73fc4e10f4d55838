"""The access settings' parsers: the CORS allow-list and the logs' pepper.
Keys and tenants are chalicelib.tenants.sources; the checks chalicelib.http.auth."""

from __future__ import annotations

import os
import re

from chalicelib.config import env as envs
from chalicelib.config.env import Env, SettingError

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")


# Without IPS_LOG_PEPPER, a random pepper per process: pseudonyms then link
# lines of one process only, and nothing fixed ever ships in the code.
_PROCESS_PEPPER = os.urandom(32)
MIN_PEPPER_CHARS = 16


def parse_log_pepper(env: Env) -> bytes:
    raw = envs.text(env, "IPS_LOG_PEPPER")
    if not raw:
        return _PROCESS_PEPPER
    if len(raw) < MIN_PEPPER_CHARS:
        raise SettingError(f"IPS_LOG_PEPPER must be at least {MIN_PEPPER_CHARS} characters")
    return raw.encode("utf-8")


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
