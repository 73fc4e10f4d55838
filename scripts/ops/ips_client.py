#!/usr/bin/env python3
"""Command-line client for the ips verification API.

    python scripts/ips_client.py --dl id.jpg --selfie me.jpg [--url URL] [--api-key KEY] [--json]

Exit status: 0 verified, 1 not verified, 2 error. IPS_URL and IPS_API_KEY
are read from the environment. Images that would push the request over the
API's limit (or that are not JPEG/PNG) are downscaled and re-encoded as JPEG
first, with their EXIF orientation applied."""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time

import requests
from PIL import Image, ImageOps

DEFAULT_URL = "http://127.0.0.1:8000/ips"
# Two images in base64 must fit Lambda's 6 MB request: 2 MB each leaves room.
IMAGE_BUDGET_BYTES = 2 * 1024 * 1024
LONG_SIDES = (2048, 1600, 1280, 1024)
QUALITIES = (90, 80, 70)
RETRY_STATUSES = (429, 503)


def prepare_image(data: bytes, budget: int = IMAGE_BUDGET_BYTES) -> bytes:
    """Return the file as is when it is a JPEG or PNG within budget; else a
    JPEG re-encode, shrinking the long side and quality until it fits."""
    jpeg_or_png = data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"
    if jpeg_or_png and len(data) <= budget:
        return data
    with Image.open(io.BytesIO(data)) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    for long_side in LONG_SIDES:
        scaled = img.copy()
        scaled.thumbnail((long_side, long_side))
        for quality in QUALITIES:
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=quality)
            if out.tell() <= budget:
                return out.getvalue()
    return out.getvalue()


def verify(url: str, dl: bytes, selfie: bytes, api_key: str | None = None,
           retries: int = 3, timeout: float = 30.0) -> requests.Response:
    """POST the pair; retry 429/503 with backoff, honouring Retry-After."""
    body = {"dl": base64.b64encode(prepare_image(dl)).decode("ascii"),
            "selfie": base64.b64encode(prepare_image(selfie)).decode("ascii")}
    headers = {"x-api-key": api_key} if api_key else {}
    for attempt in range(retries + 1):
        response = requests.post(url, json=body, headers=headers, timeout=timeout)
        if response.status_code not in RETRY_STATUSES or attempt == retries:
            return response
        time.sleep(_retry_delay(response.headers.get("Retry-After"), attempt))
    raise AssertionError("unreachable")


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    try:
        return min(float(retry_after), 30.0)
    except (TypeError, ValueError):
        return min(2.0 ** attempt, 30.0)


def describe(result: dict) -> str:
    verdict = "VERIFIED" if result.get("verified") else "NOT VERIFIED"
    return (f"{verdict}: similarity {result.get('similarity')} "
            f"(threshold {result.get('threshold')}, decision {result.get('decision')}, "
            f"engine {result.get('engine')})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dl", required=True, help="photo of the identity document")
    parser.add_argument("--selfie", required=True, help="photo of the person")
    parser.add_argument("--url", default=os.environ.get("IPS_URL", DEFAULT_URL))
    parser.add_argument("--api-key", default=os.environ.get("IPS_API_KEY"))
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        with open(args.dl, "rb") as dl, open(args.selfie, "rb") as selfie:
            response = verify(args.url, dl.read(), selfie.read(), args.api_key, args.retries)
        result = response.json()
    except (OSError, requests.RequestException, ValueError) as exc:
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    if response.status_code != 200:
        if not args.json:
            field = f" ({result.get('field')})" if result.get("field") else ""
            print(f"error {response.status_code} {result.get('code')}{field}: "
                  f"{result.get('message')}", file=sys.stderr)
        return 2
    if not args.json:
        print(describe(result))
    return 0 if result.get("verified") else 1


if __name__ == "__main__":
    sys.exit(main())
