"""Durations as the logs and benchmarks print them."""

from __future__ import annotations

import time


def ms(start: float) -> float:
    """Milliseconds since `start` (a time.perf_counter() reading), to 0.1 ms."""
    return round((time.perf_counter() - start) * 1000, 1)
