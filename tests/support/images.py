"""Synthetic test images made with Pillow (for checks that need no face)."""
from __future__ import annotations

import base64
import io

from PIL import Image


def image_bytes(width: int = 200, height: int = 200, fmt: str = "JPEG",
                color=(180, 120, 90), noise: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), color)
    if noise:
        img = Image.frombytes("RGB", (width, height), _noise(width * height * 3))
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _noise(n: int) -> bytes:
    # Deterministic, incompressible bytes so JPEGs reach realistic sizes.
    import random
    rnd = random.Random(42)
    return rnd.randbytes(n)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
