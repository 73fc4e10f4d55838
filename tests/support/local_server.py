"""Runs a real server process for the tests that need one (`make run`, the
browser tests, Schemathesis): a free loopback port, wait until it answers,
stop it and everything it started."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parents[2]
CHALICE = str(Path(sys.executable).with_name("chalice"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chalice_local(port: int) -> List[str]:
    return [CHALICE, "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(port),
            "--no-autoreload"]


@contextmanager
def running_server(log_path: Path, command: Callable[[int], List[str]] = chalice_local,
                   env: Optional[Dict[str, str]] = None, ready_path: str = "/",
                   timeout_s: float = 120) -> Iterator[str]:
    """Start command(port) from the repository root with env (default: ours),
    yield its base URL (http://127.0.0.1:PORT) once GET ready_path answers 200."""
    port = free_port()
    env = {"AWS_DEFAULT_REGION": "us-east-1", **(os.environ if env is None else env),
           "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as out:
        # Its own session, so stopping it also stops what `make` started.
        process = subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _answers(base + ready_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {command(port)}\n"
                                   + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.25)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
