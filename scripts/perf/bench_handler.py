#!/usr/bin/env python3
"""Measures the cloud path's own cost: handler time excluding the
Rekognition call (a Stubber answers instantly) for two ~1 MB JPEGs, and the
cold import time of `app` with the dev stage's settings.

    python -m scripts.perf.bench_handler [--calls 100]"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("IPS_LOG_LEVEL", "WARNING")  # one line per call would drown the figures
DEV_ENV = {"IPS_STAGE": "dev", "IPS_ENGINE": "rekognition"}


def jpeg_of_about(target_bytes: int) -> bytes:
    from PIL import Image
    side = 400
    while True:
        buf = io.BytesIO()
        Image.effect_noise((side, side * 3 // 4), 40).convert("RGB").save(buf, "JPEG", quality=90)
        if buf.tell() >= target_bytes:
            return buf.getvalue()
        side = int(side * 1.15)


def handler_times(calls: int) -> list:
    import base64

    from chalice.test import Client

    os.environ.update(DEV_ENV)
    from app import app
    from tests.support.rekognition_stub import answer, stubbed

    canned = answer(97.0)
    dl, selfie = jpeg_of_about(1_000_000), jpeg_of_about(1_000_000)
    body = json.dumps(
        {"dl": base64.b64encode(dl).decode(), "selfie": base64.b64encode(selfie).decode()}
    )
    print(f"images: dl {len(dl)} B, selfie {len(selfie)} B, body {len(body)} B")
    times = []
    with stubbed("rekognition") as stubber, Client(app, stage_name="dev") as http:
        for _ in range(calls + 5):
            stubber.add_response("compare_faces", canned)
            start = time.perf_counter()
            response = http.http.post(
                "/ips", headers={"Content-Type": "application/json"}, body=body
            )
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.body
    return times[5:]  # first calls warm the caches


def cold_import() -> tuple:
    env = {**os.environ, **DEV_ENV, "PYTHONPATH": str(ROOT)}
    code = "import sys, app; print(sorted(m for m in ('numpy', 'dlib') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    cumulative = [int(m.group(1)) for m in
                  re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| app$", run.stderr, re.M)]
    return cumulative[0] / 1000, run.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    times = sorted(handler_times(args.calls))
    p95 = times[round(0.95 * (len(times) - 1))]
    print(f"handler excluding Rekognition, {len(times)} calls: "
          f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms")
    ms, heavy = cold_import()
    print(f"cold import of app (dev stage): {ms:.0f} ms; numpy/dlib imported: {heavy}")


if __name__ == "__main__":
    main()
