#!/usr/bin/env python3
"""POST /ips through the real `make run` server (issue 21), side by side in
one run: reading on and off (two servers on free ports, requests taking
turns), synthetic licence cards with real faces and the specimen documents,
two photos; the reader alone (baseline whole-page and guided) and the face
engine alone, in this process. The load average is printed before and after.

    python -m scripts.perf.bench_ips [--pairs 20]

Prints figures only; never fails on a timing."""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
FACES = SHARED / "faces" / "face_recognition"
TODAY = date(2026, 11, 27)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(label: str, values: list[float]) -> str:
    return (f"  {label:<46} p50 {statistics.median(values):6.0f} ms   "
            f"p95 {_pct(values, 0.95):6.0f} ms   n={len(values)}")


def _post(url: str, body: bytes) -> tuple[float, int]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return (time.perf_counter() - start) * 1000, status


def _cases(pairs: int) -> dict[str, list[bytes]]:
    from PIL import Image as PILImage

    from tests.support.document_images import make_document
    selfie = (FACES / "obama-720p.jpg").read_bytes()
    with PILImage.open(FACES / "obama.jpg") as photo:
        face = photo.convert("RGB")
    def body(dl: bytes, sel: bytes) -> bytes:
        return json.dumps({"dl": base64.b64encode(dl).decode(),
                           "selfie": base64.b64encode(sel).decode()}).encode()
    cards = [make_document(3000 + i, "US_DL", strength=0.6, photo=face).jpeg
             for i in range(pairs)]
    specimens = []
    manifest = SHARED / "documents" / "manifest.csv"
    for row in csv.DictReader(manifest.open(encoding="utf-8")):
        specimens.append((SHARED / "documents" / row["file"]).read_bytes())
    photos = [(FACES / n).read_bytes() for n in ("obama.jpg", "obama2.jpg", "biden.jpg")]
    return {
        "licence card (real face) + 720p selfie": [body(c, selfie) for c in cards],
        "specimen document + 720p selfie": [body(s, selfie) for s in specimens],
        "two photos": [body(photos[i % 3], photos[(i + 1) % 3]) for i in range(pairs)],
    }


def http_figures(pairs: int) -> None:
    from tests.support.local_server import running_server
    cases = _cases(pairs)
    timings: dict[tuple[str, str], list[float]] = {}
    statuses: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="ips-bench-") as tmp:
        # INFO: running_server waits for the line saying which port it serves on.
        env = {**os.environ, "IPS_DATA_DIR": tmp}
        def command(port: int) -> list[str]:
            return ["make", "-s", "run", f"PORT={port}"]
        reading = {**env, "IPS_DOCUMENT": "read"}
        not_reading = {**env, "IPS_DOCUMENT": "off"}
        with running_server(Path(tmp) / "read.log", command, env=reading) as on, \
             running_server(Path(tmp) / "off.log", command, env=not_reading) as off:
            servers = {"read": on + "/ips", "off": off + "/ips"}
            for name, bodies in cases.items():
                for body in bodies[:2]:  # warm-up
                    for url in servers.values():
                        _post(url, body)
                for i, body in enumerate(bodies):
                    order = ("read", "off") if i % 2 else ("off", "read")
                    for mode in order:
                        if name == "two photos" and mode == "read":
                            continue
                        ms, status = _post(servers[mode], body)
                        statuses[f"{status}"] = statuses.get(f"{status}", 0) + 1
                        timings.setdefault((name, mode), []).append(ms)
    print("\nPOST /ips through `make run` (two servers, requests taking turns):")
    for (name, mode), values in timings.items():
        print(_row(f"{name}, IPS_DOCUMENT={mode}", values))
    for name in cases:
        if (name, "read") in timings:
            delta = (statistics.median(timings[(name, "read")])
                     - statistics.median(timings[(name, "off")]))
            print(f"  reading adds (p50 difference), {name}: {delta:+.0f} ms")
    print(f"  statuses: {statuses}")


def reader_figures(pairs: int) -> None:
    from PIL import Image as PILImage

    from chalicelib.documents.local import LocalReader
    from chalicelib.imaging.image import Image
    from tests.support.document_images import make_document
    with PILImage.open(FACES / "obama.jpg") as photo:
        face = photo.convert("RGB")
    cards = [make_document(3000 + i, "US_DL", strength=0.6, photo=face).jpeg
             for i in range(pairs)]
    readers = {"baseline (whole page)": LocalReader(guided=False), "guided": LocalReader()}
    times: dict[str, list[float]] = {k: [] for k in readers}
    for card in cards[:1]:
        for reader in readers.values():
            reader.read(Image(card, "JPEG", 0, 0, "dl"), TODAY)
    for card in cards:
        for label, reader in readers.items():
            start = time.perf_counter()
            reader.read(Image(card, "JPEG", 0, 0, "dl"), TODAY)
            times[label].append((time.perf_counter() - start) * 1000)
    print("\nthe reader alone, licence cards with a real face (interleaved):")
    for label, values in times.items():
        print(_row(label, values))


def engine_figures(pairs: int) -> None:
    from PIL import Image as PILImage

    from chalicelib.config.settings import EngineOptions
    from chalicelib.faces.local import engine, runtime
    from chalicelib.imaging.checks import check_image
    from chalicelib.imaging.normalise import normalise
    from tests.support.document_images import make_document
    with PILImage.open(FACES / "obama.jpg") as photo:
        card = make_document(3000, "US_DL", strength=0.6, photo=photo.convert("RGB")).jpeg
    doc = normalise(check_image(card, "dl"))
    selfie = normalise(check_image((FACES / "obama-720p.jpg").read_bytes(), "selfie"))
    local = engine.LocalEngine(EngineOptions(min_face_px=32, min_sharpness=None))
    runtime.preload()
    local.compare(doc, selfie)
    times = []
    for _ in range(pairs):
        start = time.perf_counter()
        local.compare(doc, selfie)
        times.append((time.perf_counter() - start) * 1000)
    print("\nthe face engine alone (compare, in process):")
    print(_row("licence card + 720p selfie", times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    if not (FACES / "obama-720p.jpg").exists():
        print(f"no {FACES}: nothing to measure")
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    http_figures(args.pairs)
    reader_figures(args.pairs)
    engine_figures(args.pairs)
    print(f"\nload average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
