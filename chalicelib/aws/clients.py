"""The process's AWS clients, created lazily (importing the app stays cheap)
and once per service. Engines, readers and stores take their client as a
constructor argument; the factories pass ``client(service)``. Tests and
benchmarks swap in a stubbed client with ``override``.

Clients take boto3's standard configuration: region, credentials, and
``AWS_ENDPOINT_URL_<SERVICE>`` for emulators and stand-in endpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
from botocore.config import Config

# Worst case 3 attempts x (2 s connect + 6 s read) plus backoff stays under the
# Lambda timeout (28 s), itself under API Gateway's 29 s integration limit.
# total_max_attempts, not max_attempts: botocore reads the latter as retries
# (max_attempts=3 made 4 attempts, 32 s; tests/routes/test_rekognition_faults.py).
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=6,
)

# Reading the document is best effort, bounded by the verification's own
# wait for it (IPS_DOCUMENT_TIMEOUT_S, 10 s): one attempt whose connect and
# read timeouts add up to that bound, so no call outlives the answer by long.
READER_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=8,
)
# IndexFaces is not idempotent: a retry after a lost answer would index the
# face a second time, an unassociated copy nobody asked for. One attempt
# (the enrolment store uses this client for IndexFaces only).
ONE_ATTEMPT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=6,
)
_CONFIGS = {"textract": READER_CONFIG, "rekognition-index": ONE_ATTEMPT_CONFIG}
# Client names that are not service names: name -> service.
_SERVICES = {"rekognition-index": "rekognition"}


class Clients:
    """A registry of boto3 clients, one per service, created on first use."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, name: str) -> Any:
        """The client `name`: a service name, or "rekognition-index"
        (Rekognition, one attempt per call)."""
        found = self._clients.get(name)
        if found is None:
            with self._lock:
                found = self._clients.get(name)
                if found is None:
                    config = _CONFIGS.get(name, CLIENT_CONFIG)
                    service = _SERVICES.get(name, name)
                    found = self._clients[name] = boto3.client(service, config=config)
        return found

    @contextmanager
    def override(self, service: str, replacement: Any) -> Iterator[Any]:
        """Use `replacement` as the `service` client inside the block (tests,
        benchmarks); the previous client is restored however the block ends."""
        with self._lock:
            saved = self._clients.get(service)
            self._clients[service] = replacement
        try:
            yield replacement
        finally:
            with self._lock:
                if saved is None:
                    self._clients.pop(service, None)
                else:
                    self._clients[service] = saved


_process = Clients()


def client(service: str) -> Any:
    """The process-wide boto3 client for `service`."""
    return _process.client(service)


def override(service: str, replacement: Any) -> AbstractContextManager[Any]:
    """The process's `service` client is `replacement` inside the block."""
    return _process.override(service, replacement)


@contextmanager
def fresh() -> Iterator[Clients]:
    """A new, empty registry as the process's inside the block: clients are
    created anew (inside a moto mock, say); the previous ones come back after."""
    global _process
    saved, _process = _process, Clients()
    try:
        yield _process
    finally:
        _process = saved
