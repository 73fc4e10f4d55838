"""The server's own settings (docs/operations.md), read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# --- settings ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    stage: str = "local"
    threads: int = 0  # 0: admission in-flight + queued + SPARE_THREADS
    connection_limit: int = 200  # open connections; more wait in the listen backlog
    backlog: int = 1024  # listen backlog (the kernel caps it at somaxconn)
    idle_timeout_s: int = 30  # a connection silent this long is closed
    receive_timeout_s: int = 60  # a request not fully received in this time: closed
    drain_timeout_s: int = 30  # SIGTERM: longest wait for in-flight work
    preload_models: bool = True  # load the engine's models before the first request


# Threads beyond the admission bound: they keep /health, /metrics, the page
# and the immediate 503s answered while every compute slot is taken.
SPARE_THREADS = 4


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if value < low:
        raise ValueError(f"{name} must be at least {low}")
    return value


def settings_from_env(env: Mapping[str, str] | None = None) -> ServerSettings:
    env = os.environ if env is None else env
    d = ServerSettings()
    preload = env.get("IPS_PRELOAD_MODELS", "1").strip().lower()
    if preload not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ValueError("IPS_PRELOAD_MODELS must be 1 or 0")
    return ServerSettings(
        host=env.get("IPS_HOST", d.host).strip() or d.host,
        port=_int(env, "IPS_PORT", d.port, 0),
        stage=env.get("IPS_CHALICE_STAGE", d.stage).strip() or d.stage,
        threads=_int(env, "IPS_SERVER_THREADS", d.threads, 0),
        connection_limit=_int(env, "IPS_CONNECTION_LIMIT", d.connection_limit),
        backlog=_int(env, "IPS_BACKLOG", d.backlog),
        idle_timeout_s=_int(env, "IPS_IDLE_TIMEOUT_S", d.idle_timeout_s),
        receive_timeout_s=_int(env, "IPS_RECEIVE_TIMEOUT_S", d.receive_timeout_s),
        drain_timeout_s=_int(env, "IPS_DRAIN_TIMEOUT_S", d.drain_timeout_s, 0),
        preload_models=preload not in ("0", "false", "no"),
    )
