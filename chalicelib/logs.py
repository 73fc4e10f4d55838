"""Structured JSON log lines. Callers pass only numbers, codes and ids:
never image bytes, base64 or anything that identifies a person."""
from __future__ import annotations

import json
import logging
import os
from typing import Any

# Not "ips": Chalice owns the logger named after the app and sets it to ERROR.
logger = logging.getLogger("ips.events")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(os.environ.get("IPS_LOG_LEVEL", "INFO").upper())
    logger.propagate = False


def log_event(event: str, **fields: Any) -> None:
    logger.info(json.dumps({"event": event, **fields}, separators=(",", ":"), default=str))
