#!/usr/bin/env python3
"""Calibrate the duplicate-search threshold (IPS_SEARCH_THRESHOLD) of the
local stage on labelled photos, as issue 10 asks:

    make calibrate-search
    python -m scripts.eval.calibrate_search [--identities ../shared/faces/identities.csv]

1. Enrol one photo per identity (the first usable one in file order) in a
   real SqliteStore (a temporary file), each under its own subject id.
2. Submit every other photo under a new subject id: a search of the
   enrolled faces, exactly as POST /enrolments does after a match.
3. Report, per threshold: the share of genuine duplicates flagged (the
   photo's own identity among the matches) and the share of different
   people flagged (other identities among the matches, out of every
   submission x other enrolled identity), then the same at the stage's
   configured threshold through the store.

Descriptors come from the offline engine's selfie path (chalicelib.images.
prepare, then LocalEngine.describe), the similarity from its distance
mapping: the same numbers /ips uses. Photos the engine rejects (no face,
several faces) are counted and left out. Reuses scripts/pair_scoring.py's
engine factory and percentile.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from chalicelib.core.errors import ApiError
from chalicelib.enrolment.base import Probe
from chalicelib.imaging.prepare import prepare
from scripts.eval import pair_scoring as ps

ROOT = Path(__file__).resolve().parents[2]
IDENTITIES = ROOT.parent / "shared" / "faces" / "identities.csv"
THRESHOLDS = (30, 35, 40, 45, 50, 55, 58, 60, 63.5, 65, 70, 75, 80)
TARGET_GENUINE, TARGET_IMPOSTOR = 0.98, 0.005


TENANT = "calibration"

def describe_all(rows: list[tuple[Path, str]]) -> tuple[dict[Path, tuple[float, ...]], dict]:
    engine = ps.local_engine()
    descriptors, rejected = {}, defaultdict(int)
    for path, _ in rows:
        try:
            _, descriptor = engine.describe(prepare(path.read_bytes(), "selfie"))
        except ApiError as exc:
            rejected[str(exc.code)] += 1
            continue
        descriptors[path] = descriptor
    return descriptors, dict(rejected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identities", type=Path, default=IDENTITIES)
    args = parser.parse_args(argv)
    if not args.identities.exists():
        print(f"{args.identities} not found: nothing to calibrate on", file=sys.stderr)
        return 2
    base = args.identities.resolve().parent
    with open(args.identities, newline="") as fh:
        rows = [(base / r["image"], r["identity"]) for r in csv.DictReader(fh)]
    from chalicelib.config.settings import load_settings

    configured = load_settings({"IPS_CHALICE_STAGE": "local"}).search.threshold

    descriptors, rejected = describe_all(rows)
    enrolled: dict[str, Path] = {}
    submissions: list[tuple[Path, str]] = []
    for path, identity in rows:
        if path not in descriptors:
            continue
        if identity not in enrolled:
            enrolled[identity] = path
        else:
            submissions.append((path, identity))
    print(f"{len(rows)} photos of {len({i for _, i in rows})} people; rejected by the engine: "
          f"{rejected or 'none'}; enrolled {len(enrolled)} (one per identity), "
          f"submitted {len(submissions)} under new subject ids")

    from chalicelib.enrolment.sqlite import SqliteStore
    from chalicelib.faces.local import engine as engine

    with tempfile.TemporaryDirectory(prefix="ips-calibrate-") as tmp:
        from chalicelib.core.crypto import Sealer, StaticKeys, new_key_text, parse_key

        store = SqliteStore(str(Path(tmp) / "gallery.sqlite3"), engine.MODEL_VERSION,
                            engine.similarity_from_distance, engine.distance_from_similarity,
                            sealer=Sealer(StaticKeys(parse_key(new_key_text()))))
        subject = {identity: re.sub(r"[^A-Za-z0-9_.-]", "-", identity) for identity in enrolled}
        for identity, path in enrolled.items():
            assert store.enrol(TENANT, subject[identity], Probe(None, descriptors[path]),  # type: ignore[arg-type]
                               100.0, 5).enrolled
        # Every submission's similarity to every enrolled subject (threshold 0).
        scores = []
        for path, identity in submissions:
            matches = store.search(TENANT, Probe(None, descriptors[path]), 0.0, len(enrolled))  # type: ignore[arg-type]
            scores.append((identity, {m.subject_id: m.similarity for m in matches}))
        genuine = [s.get(subject[i], 0.0) for i, s in scores]
        impostor = [sim for i, s in scores for sid, sim in s.items() if sid != subject[i]]
        print(f"genuine similarity: min {min(genuine):.1f}, p5 {ps.percentile(genuine, 0.05):.1f}, "
              f"median {ps.percentile(genuine, 0.5):.1f}; different people: max "
              f"{max(impostor):.1f}, p99 {ps.percentile(impostor, 0.99):.1f}, median "
              f"{ps.percentile(impostor, 0.5):.1f} ({len(impostor)} comparisons)")
        print(f"\n{'threshold':>9}  {'duplicates flagged':>19}  {'different people flagged':>25}")
        best = None
        for t in sorted({*THRESHOLDS, configured}):
            hit = sum(g >= t for g in genuine)
            false = sum(x >= t for x in impostor)
            mark = " <- configured" if t == configured else ""
            print(f"{t:>9g}  {hit:>3}/{len(genuine)} {hit / len(genuine):>7.1%}  "
                  f"{false:>6}/{len(impostor)} {false / len(impostor):>8.2%}{mark}")
            if (hit / len(genuine) >= TARGET_GENUINE and false / len(impostor) <= TARGET_IMPOSTOR
                    and best is None):
                best = t
        # The configured threshold, end to end through store.search's own filter.
        flagged = wrong = 0
        for path, identity in submissions:
            found = {m.subject_id for m in store.search(TENANT, Probe(None, descriptors[path]),  # type: ignore[arg-type]
                                                        configured, len(enrolled))}
            flagged += subject[identity] in found
            wrong += len(found - {subject[identity]})
        print(f"\nat IPS_SEARCH_THRESHOLD={configured:g} (store.search): duplicates flagged "
              f"{flagged}/{len(submissions)} = {flagged / len(submissions):.1%} (target >= 98%), "
              f"different people flagged {wrong}/{len(impostor)} = {wrong / len(impostor):.2%} "
              f"(target <= 0.5%)")
        print(f"lowest threshold meeting both targets: {best if best is not None else 'none'}; "
              f"{len(impostor)} comparisons of different people can only show a rate down to "
              f"about {ps.fmr_upper_bound(len(impostor)):.1%} (rule of three)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
