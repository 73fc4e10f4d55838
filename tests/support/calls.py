"""Small helpers for calling the app through chalice.test.Client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHARED_FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"


def post(client: Any, body: Any, content_type: str | None = "application/json",
         path: str = "/ips") -> Any:
    headers = {"Content-Type": content_type} if content_type else {}
    return client.http.post(path, headers=headers, body=body)
