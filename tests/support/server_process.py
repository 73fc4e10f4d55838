"""A `make run` server (chalicelib.serve) as a subprocess on a free
127.0.0.1 port, for the server tests: its stderr read line by line (every
line must be JSON), waits on log events rather than on time, raw-socket
helpers, and the gated engine's pipes (tests/support/gated_server.py)."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.support.images import b64, image_bytes

ROOT = Path(__file__).resolve().parents[2]
# Generous guards: they only turn a hang into a failure, never pace a test.
GUARD_S = 120


def verification_body() -> bytes:
    return json.dumps({"dl": b64(image_bytes(400, 300)),
                       "selfie": b64(image_bytes(300, 400, "PNG"))}).encode()


class Server:
    def __init__(self, env: Mapping[str, str] | None = None, gated: bool = False) -> None:
        self.lines: list[str] = []
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        full_env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1",
                    "IPS_PRELOAD_MODELS": "0", "PYTHONPATH": str(ROOT), **(env or {})}
        module = "tests.support.gated_server" if gated else "chalicelib.serve"
        pass_fds: tuple[int, ...] = ()
        if gated:
            self.entered_r, entered_w = os.pipe()
            gate_r, self.gate_w = os.pipe()
            full_env.update(IPS_TEST_ENTERED_FD=str(entered_w), IPS_TEST_GATE_FD=str(gate_r))
            pass_fds = (entered_w, gate_r)
        self.process = subprocess.Popen(
            # port 0: the kernel picks a free port at bind time (no race with
            # other processes on a shared machine); server_start reports it
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=pass_fds)
        if gated:
            os.close(entered_w)
            os.close(gate_r)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for("server_start")["port"])

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "NOT_JSON"})
        self.events.put({"event": "EOF"})

    def wait_for(self, event: str,
                 match: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[str, Any]:
        """The next log event of this name (and match), blocking until it is logged."""
        for seen in self.seen:
            if seen.get("event") == event and match(seen):
                self.seen.remove(seen)
                return seen
        while True:
            item = self.events.get(timeout=GUARD_S)
            if item.get("event") == event and match(item):
                return item
            if item.get("event") == "EOF":
                raise AssertionError(f"server exited before {event}:\n" + "\n".join(self.lines))
            self.seen.append(item)

    # --- the gated engine ---
    def wait_entered(self, count: int) -> None:
        got = 0
        while got < count:
            ready, _, _ = select.select([self.entered_r], [], [], GUARD_S)
            assert ready, "the engine was not entered"
            got += len(os.read(self.entered_r, count - got))

    def entered_now(self) -> int:
        """Bytes in the entered pipe right now (without waiting)."""
        ready, _, _ = select.select([self.entered_r], [], [], 0)
        return len(os.read(self.entered_r, 1024)) if ready else 0

    def release(self, count: int) -> None:
        os.write(self.gate_w, b"g" * count)

    # --- HTTP ---
    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD_S)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def verify(self) -> tuple[int, dict[str, str], bytes]:
        return self.request("POST", "/ips", verification_body(),
                            {"Content-Type": "application/json"})

    def metrics(self) -> str:
        return self.request("GET", "/metrics")[2].decode()

    def raw(self, data: bytes) -> bytes:
        """Send raw bytes, return everything the server sends until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=GUARD_S) as sock:
            # the server may answer and close before all is sent
            with contextlib.suppress(OSError):
                sock.sendall(data)
            return read_until_closed(sock)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=GUARD_S)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=GUARD_S)
        self._reader.join(timeout=GUARD_S)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=GUARD_S)
        for fd in ("entered_r", "gate_w"):
            if hasattr(self, fd):
                with contextlib.suppress(OSError):
                    os.close(getattr(self, fd))


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every HTTP response in a byte stream (responses with Content-Length)."""
    out = []
    while data.startswith(b"HTTP/1."):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip()
                   for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:length]))
        data = rest[length:]
    return out
