"""Runs a real server process for the tests that need one (`make run`, the
browser tests, Schemathesis): a free loopback port, wait until it answers,
stop it and everything it started."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHALICE = str(Path(sys.executable).with_name("chalice"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chalice_local(port: int) -> list[str]:
    return [CHALICE, "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(port),
            "--no-autoreload"]


@contextmanager
def running_server(log_path: Path, command: Callable[[int], list[str]] = chalice_local,
                   env: dict[str, str] | None = None, ready_path: str = "/",
                   timeout_s: float = 300) -> Iterator[str]:
    """Start command(port) from the repository root with env (default: ours),
    yield its base URL (http://127.0.0.1:PORT) once it is ready: its log says
    it serves on that port (so the answer is from this process, not from
    another one that took the port first) and GET ready_path answers 200.

    The machine may be shared: when another process takes the free port
    between our probe and the server's bind, start again on another port.
    timeout_s is a failure guard for a loaded machine, not an expectation."""
    env = {"AWS_DEFAULT_REGION": "us-east-1", **(os.environ if env is None else env),
           "PYTHONUNBUFFERED": "1"}
    for attempt in range(3):
        port = free_port()
        with open(log_path, "wb") as out:
            # Its own session, so stopping it also stops what `make` started.
            process = subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            if _wait_ready(process, log_path, base, ready_path, timeout_s):
                yield base
                return
            if attempt == 2 or "Address already in use" not in _log(log_path):
                raise RuntimeError(f"server did not start: {command(port)}\n"
                                   + _log(log_path)[-3000:])
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen, log_path: Path, base: str, ready_path: str,
                timeout_s: float) -> bool:
    """True once ready; False if the process ended first; raises on timeout."""
    deadline = time.monotonic() + timeout_s
    while not (_serves(_log(log_path), base) and _answers(base + ready_path)):
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {timeout_s} s\n"
                               + _log(log_path)[-3000:])
        time.sleep(0.25)    # polling interval of a condition, not a wait for it
    return process.poll() is None


def _stop(process: subprocess.Popen) -> None:
    """Stop the process group (the server and anything `make` started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _serves(log: str, base: str) -> bool:
    """The log says this process listens on base's port: `chalice local`
    prints "Serving on <base>", `make run` (chalicelib.serve) logs a JSON
    server_start event with the port, both after binding it."""
    if f"Serving on {base}" in log:
        return True
    port = int(base.rsplit(":", 1)[1])
    for line in log.splitlines():
        if line.startswith("{") and '"server_start"' in line:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "server_start" and event.get("port") == port:
                    return True
    return False


def _log(log_path: Path) -> str:
    return log_path.read_text(errors="replace") if log_path.exists() else ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200
    except OSError:
        return False
