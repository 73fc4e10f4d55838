"""Structured JSON log lines. Callers pass only numbers, codes and ids:
never image bytes, base64 or anything that identifies a person."""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

# Not "ips": Chalice owns the logger named after the app and sets it to ERROR.
logger = logging.getLogger("ips.events")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(os.environ.get("IPS_LOG_LEVEL", "INFO").upper())
    logger.propagate = False


# Listeners that see every event after it is logged (chalicelib/serve/
# derives its Prometheus metrics from them). Same fields as the log line.
EventSink = Callable[[str, dict[str, Any]], None]
_sinks: list[EventSink] = []


def add_sink(sink: EventSink) -> None:
    _sinks.append(sink)


def frames(tb: TracebackType | None) -> list[str]:
    """Where a failure happened, "file:line:function" per frame: what a log
    may say of an exception (never its message, which could quote input)."""
    return [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)
    ]


def log_event(event: str, **fields: Any) -> None:
    logger.info(json.dumps({"event": event, **fields}, separators=(",", ":"), default=str))
    for sink in _sinks:
        sink(event, fields)


def log_failure(event: str, exc: BaseException, request_id: str) -> None:
    """Log where a failure happened: the exception type and frames, never its
    message, which could quote input."""
    log_event(
        event, request_id=request_id, error=type(exc).__name__, frames=frames(exc.__traceback__)
    )
