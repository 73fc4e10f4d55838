"""Capture the service's JSON event lines (chalicelib.logs) during a block,
for the tests that check what logs may and may not hold."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib.core import logs


@contextmanager
def captured_events() -> Iterator[list[str]]:
    """Every event line logged inside the block, as text, in order."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Capture()
    logs.logger.addHandler(handler)
    try:
        yield lines
    finally:
        logs.logger.removeHandler(handler)
