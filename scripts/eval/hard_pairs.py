#!/usr/bin/env python3
"""The hard genuine pairs of the labelled set, pair by pair, and the
constants of the SFace second opinion.

For every photo of ../shared/faces (through chalicelib.images.prepare and the
engine, quality gates off): face size, sharpness, head pose from YuNet's five
points (yaw: nose tip's offset from the eyes' midpoint in eye distances; roll:
the eye line's angle), dlib's descriptor and SFace's feature. Then:

- the fusion constants (impostor mean and spread of dlib's distance, of
  SFace's cosine, and of their averaged standard scores), to paste into
  chalicelib/faces/local/;
- every genuine pair under the threshold (or close to it) with dlib's score,
  SFace's cosine and the fused score the engine uses in the review band;
- false non-matches and the closest impostor, with and without the fusion.

    python -m scripts.eval.hard_pairs [--pairs ../shared/faces/pairs.csv]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scripts.eval import pair_scoring as ps


@dataclass
class Photo:
    size_px: float
    sharpness: float
    yaw: float
    roll: float
    descriptor: np.ndarray
    sface: np.ndarray


def photo_of(path: Path) -> Photo:
    from chalicelib.config.settings import EngineOptions
    from chalicelib.faces.local import describe, detect, fuse, runtime
    from chalicelib.faces.local import engine as local

    image = ps.prepared(path.read_bytes(), "dl")
    face = local.analyse(image, "document", EngineOptions(min_face_px=0, min_sharpness=0.0))
    face0 = face.faces[0]
    img, _ = describe.decode(image.data)
    det = detect.select_faces(detect.find_faces(runtime.models(), img, "document"))[0]
    assert det.landmarks is not None and face0.sface_crop is not None
    x = det.landmarks[0::2]
    y = det.landmarks[1::2]
    eye_dist = math.hypot(x[1] - x[0], y[1] - y[0])
    yaw = (x[2] - (x[0] + x[1]) / 2) / eye_dist
    roll = math.degrees(math.atan2(y[1] - y[0], x[1] - x[0]))
    return Photo(face0.size_px, face0.sharpness, yaw, roll, face0.descriptor,
                 fuse.sface_feature(face0.sface_crop))


def main(argv: list[str] | None = None) -> int:
    from chalicelib.faces.local import calibration, fuse

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=ps.SHARED_PAIRS)
    parser.add_argument("--threshold", type=float, default=ps.DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    if not args.pairs.exists():
        print(f"{args.pairs} not found: pass --pairs CSV", file=sys.stderr)
        return 2
    pairs = ps.read_pairs(args.pairs)
    paths = sorted({p.a for p in pairs} | {p.b for p in pairs})
    photos = {p: photo_of(p) for p in paths}
    rows = []
    for pair in pairs:
        a, b = photos[pair.a], photos[pair.b]
        rows.append((pair, float(np.linalg.norm(a.descriptor - b.descriptor)),
                     float(np.dot(a.sface, b.sface))))
    imp_d = [d for p, d, _ in rows if not p.same]
    imp_c = [c for p, _, c in rows if not p.same]
    md, sd = statistics.fmean(imp_d), statistics.pstdev(imp_d)
    mc, sc = statistics.fmean(imp_c), statistics.pstdev(imp_c)
    z = [((md - d) / sd + (c - mc) / sc) / 2 for d, c in zip(imp_d, imp_c, strict=True)]
    mz, sz = statistics.fmean(z), statistics.pstdev(z)
    print(f"fusion constants from {len(imp_d)} impostor pairs: DLIB_IMPOSTOR_MEAN = {md:.4f}, "
          f"DLIB_IMPOSTOR_STD = {sd:.4f}, SFACE_IMPOSTOR_MEAN = {mc:.4f}, "
          f"SFACE_IMPOSTOR_STD = {sc:.4f} (engine: {fuse.DLIB_IMPOSTOR_MEAN}, "
          f"{fuse.DLIB_IMPOSTOR_STD}, {fuse.SFACE_IMPOSTOR_MEAN}, {fuse.SFACE_IMPOSTOR_STD}); "
          f"averaged standard scores of the impostors: mean {mz:.3f}, spread {sz:.3f}")

    def engine_distance(d: float, c: float) -> float:
        if fuse.SECOND_LOOK_FROM < d <= fuse.SECOND_LOOK_TO:
            return fuse.fused_distance(d, c)
        return d

    def fused_everywhere(d: float, c: float) -> float:
        return fuse.fused_distance(d, c)

    floor = calibration.REVIEW_FLOOR
    for name, fn in (("dlib alone", lambda d, c: d), ("engine (fusion in the band)",
                                                        engine_distance),
                     ("fusion on every pair", fused_everywhere)):
        gen = [calibration.similarity_from_distance(fn(d, c)) for p, d, c in rows if p.same]
        imp = [calibration.similarity_from_distance(fn(d, c)) for p, d, c in rows if not p.same]
        print(f"{name:28}: false non-matches {sum(s < args.threshold for s in gen)}/{len(gen)}, "
              f"genuine under the review floor {sum(s < floor for s in gen)}, "
              f"false matches {sum(s >= args.threshold for s in imp)}/{len(imp)}, "
              f"closest impostor {max(imp):.1f}, impostors in the band "
              f"{sum(floor <= s < args.threshold for s in imp)}")
    print()
    print(f"{'document (image_a)':44} {'selfie (image_b)':50} {'dlib':>5} {'SFace':>5} "
          f"{'fused':>5}  face px   sharpness  yaw a/b     roll a/b")
    base = args.pairs.resolve().parent
    genuine = sorted((r for r in rows if r[0].same), key=lambda r: r[1], reverse=True)
    for pair, d, c in genuine:
        first = calibration.similarity_from_distance(d)
        if first >= args.threshold + 3:
            continue
        a, b = photos[pair.a], photos[pair.b]
        print(f"{pair.a.relative_to(base)!s:44} {pair.b.relative_to(base)!s:50} "
              f"{first:5.1f} {c:5.2f} "
              f"{calibration.similarity_from_distance(engine_distance(d, c)):5.1f}"
              f"  {a.size_px:4.0f}/{b.size_px:<4.0f} {a.sharpness:4.2f}/{b.sharpness:<4.2f} "
              f"{a.yaw:+.2f}/{b.yaw:+.2f} {a.roll:+4.0f}/{b.roll:+4.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
