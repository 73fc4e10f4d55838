#!/usr/bin/env python3
"""Document reading on the local stage: accuracy and latency.

- field-level exact match (surname, given names, document number, dates of
  birth and expiry, nationality) on ../shared/documents (manifest.csv) and on
  a synthetic set (tests/support/document_images.py: TD1, TD3, US licences,
  rotated ±3°, blurred, glare, JPEG);
- whether the check-digit and expiry verdicts are right on every labelled case;
- reading latency (median, p95) per document;
- POST /ips on the local stage (chalice.test.Client) with a card + 720p
  selfie, with IPS_DOCUMENT=read against IPS_DOCUMENT=off in the same run,
  interleaved, and the difference of the medians (budget: +250 ms).

    python -m scripts.perf.bench_documents [--synthetic 150] [--runs 15]

Prints figures only; never fails on a timing."""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import statistics
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("IPS_LOG_LEVEL", "WARNING")
SHARED = ROOT.parent / "shared"
FIELDS = ("surname", "given_names", "document_number", "date_of_birth", "expiry_date",
          "nationality")
TODAY = date(2026, 11, 27)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _score(result, truth: dict[str, str], counts: dict[str, list[int]]) -> list[str]:
    got = result.fields.to_json()
    wrong = []
    for name in FIELDS:
        if not truth.get(name):
            continue
        ok = got.get(name) == truth[name]
        counts.setdefault(name, [0, 0])
        counts[name][0] += ok
        counts[name][1] += 1
        if not ok:
            wrong.append(name)
    return wrong


def _table(title: str, per_kind: dict[str, dict[str, list[int]]]) -> None:
    print(f"\n{title}: field-level exact match")
    print(f"  {'set':<8} " + " ".join(f"{f[:13]:>13}" for f in FIELDS) + f" {'all':>12}")
    for kind, counts in sorted(per_kind.items()):
        cells, hit, total = [], 0, 0
        for name in FIELDS:
            h, t = counts.get(name, [0, 0])
            hit, total = hit + h, total + t
            cells.append(f"{h}/{t}".rjust(13) if t else "-".rjust(13))
        share = 100 * hit / max(total, 1)
        print(f"  {kind:<8} " + " ".join(cells) + f" {hit}/{total} {share:5.1f}%")


def accuracy_shared(reader) -> list[float]:
    from chalicelib.imaging.image import Image
    manifest = SHARED / "documents" / "manifest.csv"
    if not manifest.exists():
        print(f"\n(no {manifest}: specimen accuracy skipped)")
        return []
    per_kind: dict[str, dict[str, list[int]]] = {}
    times, verdicts_ok, verdicts = [], 0, 0
    for row in csv.DictReader(manifest.open(encoding="utf-8")):
        data = (SHARED / "documents" / row["file"]).read_bytes()
        start = time.perf_counter()
        result = reader.read(Image(data, "", 0, 0, "dl"), TODAY)
        times.append((time.perf_counter() - start) * 1000)
        _score(result, row, per_kind.setdefault(row["doc_type"], {}))
        expired = date.fromisoformat(row["expiry_date"]) < TODAY
        verdicts += 1
        verdicts_ok += (result.read and result.fields.expiry_date is not None
                        and (result.fields.expiry_date < TODAY) == expired
                        and result.check_digits in (True, None))
    _table(f"../shared/documents ({verdicts} specimens)", per_kind)
    print(f"  expiry + check-digit verdicts right: {verdicts_ok}/{verdicts}")
    return times


def _photos() -> list:
    """Real faces for the synthetic documents' portraits (../shared/faces),
    so that the guided reader finds them; empty without the folder."""
    from PIL import Image as PILImage
    listing = SHARED / "faces" / "identities.csv"
    if not listing.exists():
        return []
    rows = list(csv.DictReader(listing.open(encoding="utf-8")))
    photos = []
    for row in rows[::4]:
        with PILImage.open(SHARED / "faces" / row["image"]) as opened:
            photos.append(opened.convert("RGB"))
    return photos


def accuracy_synthetic(reader, count: int, photos: list | None = None) -> list[float]:
    from chalicelib.imaging.image import Image
    from tests.support.document_images import KINDS, make_document
    per_kind: dict[str, dict[str, list[int]]] = {}
    times, digits_ok, digits_total, expiry_ok, expiry_total = [], 0, 0, 0, 0
    cpu: dict[str, list[float]] = {}
    for seed in range(count):
        photo = photos[seed % len(photos)] if photos else None
        doc = make_document(1000 + seed, KINDS[seed % 3], photo=photo)
        start, cpu_start = time.perf_counter(), time.thread_time()
        result = reader.read(Image(doc.jpeg, "JPEG", 0, 0, "dl"), TODAY)
        times.append((time.perf_counter() - start) * 1000)
        cpu.setdefault(doc.kind, []).append((time.thread_time() - cpu_start) * 1000)
        _score(result, doc.truth, per_kind.setdefault(doc.kind, {}))
        if doc.kind != "US_DL":
            digits_total += 1
            digits_ok += result.check_digits is doc.digits_valid
        expiry_total += 1
        expired = date.fromisoformat(doc.truth["expiry_date"]) < TODAY
        expiry_ok += (result.fields.expiry_date is not None
                      and (result.fields.expiry_date < TODAY) == expired)
    portraits = "real faces" if photos else "drawn faces"
    _table(f"synthetic ({count} documents, degraded, {portraits})", per_kind)
    print(f"  check-digit verdict right: {digits_ok}/{digits_total}; "
          f"expired verdict right: {expiry_ok}/{expiry_total}")
    print("  reading CPU time (one onnxruntime thread; unaffected by other jobs), p50: "
          + ", ".join(f"{k} {statistics.median(v):.0f} ms" for k, v in sorted(cpu.items())))
    return times


def profile(reader) -> None:
    """Where a card's reading time goes (thread CPU, median of 9)."""
    import numpy as np

    from chalicelib.documents import local
    from tests.support.document_images import make_document
    card = make_document(7, "TD1", strength=0.5, invalid_rate=0).jpeg
    engine = reader._engine()
    steps: dict[str, list[float]] = {"decode": [], "detect": [], "recognise MRZ rows": []}
    for _ in range(9):
        t = time.thread_time()
        pixels = local._decode(card)
        steps["decode"].append(time.thread_time() - t)
        t = time.thread_time()
        found = engine(pixels, use_det=True, use_cls=False, use_rec=False)
        steps["detect"].append(time.thread_time() - t)
        boxes = [(p, local._box(p)) for p in found.boxes]
        rows = local._mrz_rows(boxes, pixels.shape[1], pixels.shape[0])
        t = time.thread_time()
        reader._recognise(engine, pixels, [p for row in rows for p, _ in row], False)
        steps["recognise MRZ rows"].append(time.thread_time() - t)
    print(f"\nprofile, synthetic TD1 card {np.asarray(pixels).shape[1]}x{pixels.shape[0]} "
          f"(detection at {local.DET_SIDE} px), thread CPU p50: "
          + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in steps.items()))


def ips_latency(runs: int) -> None:
    """POST /ips, local stage, card + 720p selfie: reading on vs off."""
    from chalice.test import Client
    from PIL import Image as PILImage

    from tests.support.document_images import make_document
    faces = SHARED / "faces" / "face_recognition"
    if (faces / "obama-720p.jpg").exists():
        selfie = (faces / "obama-720p.jpg").read_bytes()
        photo = PILImage.open(faces / "obama.jpg")
    else:  # the public-domain astronaut that scikit-image ships
        import io

        from skimage import data
        photo = PILImage.fromarray(data.astronaut())
        buf = io.BytesIO()
        photo.resize((1280, 720)).save(buf, "JPEG", quality=90)
        selfie = buf.getvalue()
    card = make_document(7, "TD1", strength=0.5, invalid_rate=0, photo=photo).jpeg
    body = json.dumps({"dl": base64.b64encode(card).decode(),
                       "selfie": base64.b64encode(selfie).decode()})
    import app as app_module
    timings: dict[str, list[float]] = {"off": [], "read": []}
    cpu: dict[str, list[float]] = {"off": [], "read": []}
    with Client(app_module.app, stage_name="local") as http:
        for i in range(runs + 2):
            for mode in ("off", "read") if i % 2 else ("read", "off"):
                os.environ["IPS_DOCUMENT"] = mode  # on the local stage the environment wins
                start, cpu_start = time.perf_counter(), time.process_time()
                response = http.http.post("/ips", headers={"Content-Type": "application/json"},
                                          body=body)
                elapsed = (time.perf_counter() - start) * 1000
                used = (time.process_time() - cpu_start) * 1000
                assert response.status_code == 200, response.body[:300]
                if i >= 2:  # two warm-up rounds: models load, sessions start
                    timings[mode].append(elapsed)
                    cpu[mode].append(used)
                if mode == "read":
                    last = json.loads(response.body)
    print(f"\nPOST /ips, local stage, card {len(card)} B + 720p selfie {len(selfie)} B, "
          f"{runs} runs each, interleaved, {os.cpu_count()} cores")
    for mode, values in timings.items():
        print(f"  IPS_DOCUMENT={mode:<5} p50 {statistics.median(values):7.0f} ms   "
              f"p95 {_pct(values, 0.95):7.0f} ms   CPU (all threads) p50 "
              f"{statistics.median(cpu[mode]):5.0f} ms")
    delta = statistics.median(timings["read"]) - statistics.median(timings["off"])
    print(f"  reading adds (p50 difference): {delta:+.0f} ms   (budget +250 ms)")
    load = os.getloadavg()[0]
    print(f"  load average during the run: {load:.1f} on {os.cpu_count()} cores")
    print(f"  last document: read={last['document']['read']} "
          f"source={last['document']['source']} decision={last['decision']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=150)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-ips", action="store_true")
    args = parser.parse_args()
    from chalicelib.documents.local import LocalReader
    readers = {"baseline (whole page, before issue 21)": LocalReader(guided=False),
               "guided (issue 21)": LocalReader()}
    photos = _photos()
    print(f"offline reader: rapidocr PP-OCR, {readers['guided (issue 21)'].threads} onnxruntime "
          f"thread(s), today fixed at {TODAY}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    for label, reader in readers.items():
        print(f"\n=== {label}")
        times = accuracy_shared(reader)
        if times:
            print(f"  read time: p50 {statistics.median(times):.0f} ms, "
                  f"p95 {_pct(times, .95):.0f} ms")
        for faces in ([None, photos] if photos else [None]):
            times = accuracy_synthetic(reader, args.synthetic, faces)
            print(f"  read time: p50 {statistics.median(times):.0f} ms, "
                  f"p95 {_pct(times, .95):.0f} ms")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    profile(readers["baseline (whole page, before issue 21)"])
    if not args.skip_ips:
        ips_latency(args.runs)


if __name__ == "__main__":
    main()
