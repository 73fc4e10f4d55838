#!/usr/bin/env python3
"""Writes a labelled synthetic document set: TD1 ID cards, TD3 passport
pages and US-style licences (tests/support/document_images.py) as JPEGs,
with a manifest.csv in ../shared/documents' column layout plus
digits_valid (False: a check digit spoiled on purpose).

    python -m scripts.eval.synth_documents [--count 300] [--out artifacts/synthetic-documents]"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from tests.support.document_images import KINDS, OCR_B, make_document

COLUMNS = ("file", "doc_type", "mrz_line1", "mrz_line2", "mrz_line3", "surname", "given_names",
           "document_number", "date_of_birth", "expiry_date", "nationality", "sex",
           "digits_valid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("artifacts/synthetic-documents"))
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--strength", type=float, default=1.0,
                        help="degradation: 0 clean, 1 = ±3° rotation, blur, glare, JPEG")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not OCR_B.exists():
        print(f"note: {OCR_B} missing (make fonts); the MRZ uses a stand-in font")
    with (args.out / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for i in range(args.count):
            doc = make_document(args.seed + i, KINDS[i % 3], strength=args.strength)
            name = f"{i:04d}_{doc.kind.lower()}.jpg"
            (args.out / name).write_bytes(doc.jpeg)
            mrz = [*doc.mrz, "", "", ""][:3]
            writer.writerow({"file": name, "doc_type": doc.kind, "mrz_line1": mrz[0],
                             "mrz_line2": mrz[1], "mrz_line3": mrz[2],
                             "digits_valid": doc.digits_valid,
                             **{k: v for k, v in doc.truth.items() if k in COLUMNS}})
    print(f"wrote {args.count} documents and manifest.csv to {args.out}")


if __name__ == "__main__":
    main()
