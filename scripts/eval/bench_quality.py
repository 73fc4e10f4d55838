#!/usr/bin/env python3
"""Degradation sweep of the offline face engine: where do the quality gates
(sharpness, minimum face size) belong?

From the labelled photos (../shared/faces), every pair of pairs.csv is
verified again with one side degraded, level by level:

- document portraits ("card"): image_a printed as the portrait of a
  synthetic 1000x630 ID card (portrait 250 px tall, face about 94 px wide, a
  faded ghost copy, text, JPEG quality 85), the whole card then degraded;
  image_b is the selfie, untouched;
- selfies ("selfie"): image_b degraded; image_a is the document, untouched.

Degradations: Gaussian blur (radius as a fraction of the face's width),
smaller faces (card: a smaller portrait; selfie: the photo scaled down),
JPEG quality down to 40, horizontal motion blur (length as a fraction of the
face's width), and a phone shot of a card (blur 1/80 and JPEG 70).

Every image goes through chalicelib.images.prepare (what the service does to
the bytes) and the engine with both quality gates switched off, so the
engine's sharpness and face size are recorded beside the score. The gates are
then applied afterwards, for each level: the rates at the operating point
(threshold 80, review floor 63.5) with the engine's default gates, and the
score distributions. A second table bins every degraded image by its
sharpness (and by its face size) and shows what the decision is worth in
each bin: the gate belongs where impostors come near the review band or
genuine pairs stop reaching the threshold.

    python -m scripts.eval.bench_quality [--faces-dir ../shared/faces] [--quick]
        [--table artifacts/quality_sweep.txt] [--plot artifacts/quality_sweep.png]

--quick: fewer levels (for a look, not for the figures).
"""
from __future__ import annotations

import argparse
import itertools
import pickle
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageOps

from scripts.eval import face_samples as fs
from scripts.eval import pair_scoring as ps

THRESHOLD = ps.DEFAULT_THRESHOLD
CARD_PORTRAIT_HEIGHT = 250          # face about 94 px wide on the card
CARD_JPEG_QUALITY = 85
BLUR_FRACTIONS = (0.0, 1 / 160, 1 / 120, 1 / 80, 1 / 60, 1 / 40, 1 / 30, 1 / 20, 1 / 15, 1 / 10)
MOTION_FRACTIONS = (1 / 40, 1 / 20, 1 / 10, 1 / 6)
JPEG_QUALITIES = (85, 70, 55, 40)
CARD_FACE_WIDTHS = (94, 80, 64, 48, 40, 32, 24)
SELFIE_FACE_WIDTHS = (120, 80, 64, 48, 40, 32, 24)
TILT_ANGLES = (15, 25, 35, 45)
SHARPNESS_BINS = (0.0, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1,
                  1e9)
SIZE_BINS = (0, 20, 24, 28, 32, 36, 40, 48, 64, 80, 1e9)


@dataclass(frozen=True)
class Level:
    kind: str          # "card" or "selfie"
    family: str        # "blur", "size", "jpeg", "motion", "phone card"
    label: str
    degrade: Callable[[PILImage.Image, float], bytes]   # (photo, face width px) -> bytes


@dataclass
class Measured:
    """One image through the engine with the gates off."""
    error: str | None
    sharpness: float = 0.0
    size_px: float = 0.0
    face: object = None          # the engine's FaceResult


@dataclass(frozen=True)
class LevelName:
    kind: str
    family: str
    label: str


@dataclass
class LevelResult:
    level: LevelName
    genuine: list[tuple[float | None, Measured]] = field(default_factory=list)
    impostor: list[tuple[float | None, Measured]] = field(default_factory=list)
    seconds: float = 0.0


# --- degradations ---------------------------------------------------------------

def _card(photo: PILImage.Image, face: tuple[float, float, float, float],
          portrait_height: int = CARD_PORTRAIT_HEIGHT) -> PILImage.Image:
    return fs.id_card(fs.portrait_crop(photo, face), portrait_height=portrait_height)


def card_face_width(portrait_height: int) -> float:
    """portrait_crop is 2 face widths wide and 4/3 as tall as wide."""
    return portrait_height * 3 / 8


def levels(quick: bool = False) -> list[Level]:
    blur = BLUR_FRACTIONS[::3] if quick else BLUR_FRACTIONS
    motion = MOTION_FRACTIONS[1::2] if quick else MOTION_FRACTIONS
    quality = JPEG_QUALITIES[::3] if quick else JPEG_QUALITIES
    card_sizes = CARD_FACE_WIDTHS[::3] if quick else CARD_FACE_WIDTHS
    selfie_sizes = SELFIE_FACE_WIDTHS[::3] if quick else SELFIE_FACE_WIDTHS
    card_w = card_face_width(CARD_PORTRAIT_HEIGHT)
    out: list[Level] = []

    def card(make: Callable[[PILImage.Image], PILImage.Image], quality: int = CARD_JPEG_QUALITY,
             portrait_height: int = CARD_PORTRAIT_HEIGHT):
        def degrade(photo_and_face, _w):
            photo, face = photo_and_face
            return fs.jpeg_bytes(make(_card(photo, face, portrait_height)), quality)
        return degrade

    def selfie(make: Callable[[PILImage.Image, float], PILImage.Image], quality: int = 90):
        def degrade(photo_and_face, width):
            return fs.jpeg_bytes(make(photo_and_face[0], width), quality)
        return degrade

    for f in blur:
        label = "none" if f == 0 else f"1/{round(1 / f)}"
        out.append(Level("card", "blur", label,
                         card(lambda c, f=f: fs.gaussian_blur(c, f * card_w))))
        out.append(Level("selfie", "blur", label,
                         selfie(lambda p, w, f=f: fs.gaussian_blur(p, f * w))))
    for width in card_sizes:
        height = round(width * 8 / 3)
        out.append(Level("card", "size", f"{width} px", card(lambda c: c, portrait_height=height)))
    for width in selfie_sizes:
        out.append(Level("selfie", "size", f"{width} px",
                         selfie(lambda p, w, width=width: fs.scaled(p, min(1.0, width / w)))))
    for q in quality:
        out.append(Level("card", "jpeg", f"q{q}", card(lambda c: c, quality=q)))
        out.append(Level("selfie", "jpeg", f"q{q}", selfie(lambda p, w: p, quality=q)))
    for f in motion:
        out.append(Level("card", "motion", f"1/{round(1 / f)}",
                         card(lambda c, f=f: fs.motion_blur(c, f * card_w))))
        out.append(Level("selfie", "motion", f"1/{round(1 / f)}",
                         selfie(lambda p, w, f=f: fs.motion_blur(p, f * w))))
    out.append(Level("card", "phone card", "blur 1/80 + q70",
                     card(lambda c: fs.gaussian_blur(c, card_w / 80), quality=70)))
    return out


# --- measuring --------------------------------------------------------------------

def measure(data: bytes, field_name: str, role: str) -> Measured:
    """One image through prepare() and the engine, both quality gates off."""
    from chalicelib.core.errors import ApiError
    from chalicelib.faces.local import engine as local
    try:
        image = ps.prepared(data, field_name)
        face = local.measure(image, role)
    except ApiError as exc:
        return Measured(exc.code)
    return Measured(None, face.sharpness, face.size_px, face)


def similarity(doc: Measured, selfie: Measured) -> float | None:
    """The pair's similarity as the engine decides it (second look included)."""
    import numpy as np

    from chalicelib.faces.local import engine as local
    if doc.error or selfie.error:
        return None
    a, b = doc.face, selfie.face
    distance = float(np.linalg.norm(a.descriptor - b.descriptor))
    return local.similarity_from_distance(local.second_look(distance, a, b))


def run(faces_dir: Path, quick: bool, workers: int,
        progress: Callable[[str], None]) -> tuple[list[LevelResult], dict]:
    from chalicelib.faces.local import engine as local
    pairs = ps.read_pairs(faces_dir / "pairs.csv")
    paths = sorted({p.a for p in pairs} | {p.b for p in pairs})
    photos = {p: ImageOps.exif_transpose(PILImage.open(p)).convert("RGB") for p in paths}
    pool = ThreadPoolExecutor(max_workers=workers)
    # The untouched side of every pair, and each photo's face box and width.
    clean_doc = dict(zip(paths, pool.map(lambda p: measure(p.read_bytes(), "dl", "document"),
                                         paths), strict=True))
    clean_selfie = dict(zip(paths, pool.map(
        lambda p: measure(p.read_bytes(), "selfie", "selfie"), paths), strict=True))
    boxes = dict(zip(paths, pool.map(lambda p: local.face_box(ps.prepared(p.read_bytes(), "dl")),
                                     paths), strict=True))
    results = []
    for level in levels(quick):
        start = time.perf_counter()
        side = [p.a for p in pairs] if level.kind == "card" else [p.b for p in pairs]
        todo = sorted(set(side))

        def one(path: Path, level: Level = level) -> Measured:
            box = boxes[path]
            width = box[2] - box[0]
            data = level.degrade((photos[path], box), width)
            if level.kind == "card":
                return measure(data, "dl", "document")
            return measure(data, "selfie", "selfie")

        degraded = dict(zip(todo, pool.map(one, todo), strict=True))
        result = LevelResult(LevelName(level.kind, level.family, level.label))
        for pair in pairs:
            if level.kind == "card":
                m = degraded[pair.a]
                score = similarity(m, clean_selfie[pair.b])
            else:
                m = degraded[pair.b]
                score = similarity(clean_doc[pair.a], m)
            (result.genuine if pair.same else result.impostor).append((score, m))
        result.seconds = time.perf_counter() - start
        results.append(result)
        progress(f"{level.kind} {level.family} {level.label}: {result.seconds:.0f} s")
    pool.shutdown()
    baseline = {"pairs": len(pairs)}
    return results, baseline


# --- detectors on cards ---------------------------------------------------------

def detector_table(faces_dir: Path, widths: Sequence[int] = CARD_FACE_WIDTHS) -> list[str]:
    """Card portraits found by YuNet (the engine) and by HOG alone (the engine
    before issue 8, upsampling included), by the portrait's face width."""
    from chalicelib.faces.local import engine as local
    pairs = ps.read_pairs(faces_dir / "pairs.csv")
    paths = sorted({p.a for p in pairs} | {p.b for p in pairs})
    models = local._models()
    photos = {p: ImageOps.exif_transpose(PILImage.open(p)).convert("RGB") for p in paths}
    boxes = {p: local.face_box(ps.prepared(p.read_bytes(), "dl")) for p in paths}
    lines = ["== card portraits found (the largest face on the card must be the portrait, "
             "left of x=300 px), of " + str(len(paths)),
             f"{'face width':>10} {'engine':>6} {'HOG':>6}  (engine: YuNet, HOG when it "
             "finds nothing; HOG: before issue 8)"]
    for width in widths:
        height = round(width * 8 / 3)
        found = {"yunet": 0, "hog": 0}
        for path in paths:
            card = _card(photos[path], boxes[path], height)
            img, _ = local.decode(fs.jpeg_bytes(card, CARD_JPEG_QUALITY))
            for detector in found:
                faces = local.select_faces(local.find_faces(models, img, "document", detector))
                if faces and faces[0].right < 300:
                    found[detector] += 1
        lines.append(f"{width:>7} px {found['yunet']:>6} {found['hog']:>6}")
    lines.append("== tilted selfies (the photo turned by the angle): photos with a face found")
    for angle in TILT_ANGLES:
        found = {"yunet": 0, "hog": 0}
        for path in paths:
            turned = photos[path].rotate(angle, resample=PILImage.Resampling.BICUBIC, expand=True)
            img, _ = local.decode(fs.jpeg_bytes(turned))
            for detector in found:
                if local.find_faces(models, img, "selfie", detector):
                    found[detector] += 1
        lines.append(f"{angle:>6} deg {found['yunet']:>6} {found['hog']:>6}")
    return lines


# --- gates and rates ---------------------------------------------------------------

@dataclass(frozen=True)
class Gates:
    min_sharpness: float
    min_face_px: float


# Beside the engine's gates, the same measurements with no gate at all.
GATES_OFF = Gates(min_sharpness=0.0, min_face_px=0.0)


def decided(score: float | None, m: Measured, gates: Gates) -> tuple[str, float | None]:
    """("refused", None) for a 422 (no face, or a gate), else ("scored", score)."""
    if m.error or m.size_px < gates.min_face_px or m.sharpness < gates.min_sharpness:
        return "refused", None
    return "scored", score


def level_row(result: LevelResult, gates: Gates, review_floor: float) -> dict:
    gen = [decided(s, m, gates) for s, m in result.genuine]
    imp = [decided(s, m, gates) for s, m in result.impostor]
    refused = sum(1 for k, _ in gen + imp if k == "refused")
    gen_scores = [s for k, s in gen if k == "scored"]
    imp_scores = [s for k, s in imp if k == "scored"]
    raw_gen = [s for s, m in result.genuine if s is not None]
    raw_imp = [s for s, m in result.impostor if s is not None]
    n = len(gen) + len(imp)
    sharp = [m.sharpness for _, m in result.genuine if m.error is None]
    size = [m.size_px for _, m in result.genuine if m.error is None]
    return {
        "kind": result.level.kind, "family": result.level.family, "level": result.level.label,
        "sharpness_median": statistics.median(sharp) if sharp else float("nan"),
        "face_px_median": statistics.median(size) if size else float("nan"),
        "no_face": sum(1 for _, m in result.genuine + result.impostor if m.error),
        "refused_share": refused / n,
        "genuine_refused": sum(1 for k, _ in gen if k == "refused") / len(gen),
        "fnmr": 1 - sum(1 for s in gen_scores if s >= THRESHOLD) / len(gen),
        "fmr": sum(1 for s in imp_scores if s >= THRESHOLD) / len(imp),
        "review_share": sum(1 for s in gen_scores + imp_scores
                            if review_floor <= s < THRESHOLD) / n,
        # distributions with the gates off: what the score still means
        "genuine_p5": ps.percentile(raw_gen, 0.05), "genuine_median": _median(raw_gen),
        "genuine_pass_ungated": sum(1 for s in raw_gen if s >= THRESHOLD) / len(result.genuine),
        "impostor_max": max(raw_imp) if raw_imp else float("nan"),
        "impostor_p99": ps.percentile(raw_imp, 0.99),
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bin_rows(results: Sequence[LevelResult], key: str, edges: Sequence[float],
             families: Sequence[str], review_floor: float) -> list[dict]:
    """Every degraded image of the given families binned by its sharpness or
    face size (gates off): how well the engine still tells people apart."""
    rows = []
    for lo, hi in itertools.pairwise(edges):
        gen: list[float] = []
        gen_n = imp_n = 0
        imp: list[float] = []
        for r in results:
            if r.level.family not in families:
                continue
            for pairs_, scores in ((r.genuine, gen), (r.impostor, imp)):
                for s, m in pairs_:
                    if m.error is None and lo <= getattr(m, key) < hi:
                        scores.append(s)
                        if pairs_ is r.genuine:
                            gen_n += 1
                        else:
                            imp_n += 1
        rows.append({
            "bin": f"[{lo:g}, {hi:g})" if hi < 1e8 else f">= {lo:g}",
            "lo": lo, "genuine": gen_n, "impostor": imp_n,
            "genuine_pass": sum(1 for s in gen if s >= THRESHOLD) / gen_n if gen_n else None,
            "genuine_review_or_pass": (sum(1 for s in gen if s >= review_floor) / gen_n
                                       if gen_n else None),
            "genuine_median": _median(gen),
            "impostor_max": max(imp) if imp else None,
            "impostor_over_floor": sum(1 for s in imp if s >= review_floor),
        })
    return rows


def recommend(rows: Sequence[dict]) -> float | None:
    """The lowest bin edge from which up every bin still tells people apart:
    no impostor reaches the review floor, and at least half the genuine pairs
    reach it (review or match). None if even the best bin fails."""
    gate = None
    for row in reversed(rows):
        if not row["genuine"] and not row["impostor"]:
            continue
        ok = (row["impostor_over_floor"] == 0
              and (row["genuine_review_or_pass"] or 0.0) >= MIN_GENUINE_REACHING_FLOOR)
        if not ok:
            break
        gate = row["lo"]
    return gate


def mixed_traffic(results: Sequence[LevelResult], gates: Gates, review_floor: float) -> dict:
    """Photo pairs plus cards, as issue 8 counts them: the untouched photo
    pairs (the selfie "blur none" level) and the cards a phone gives (card
    levels blur <= 1/80 and JPEG >= 70, plus the phone card)."""
    everyday = [r for r in results if _everyday(r.level)]
    total = sum(len(r.genuine) + len(r.impostor) for r in everyday)
    refused = sum(1 for r in everyday for s, m in r.genuine + r.impostor
                  if decided(s, m, gates)[0] == "refused")
    gen = [decided(s, m, gates) for r in everyday for s, m in r.genuine]
    imp = [decided(s, m, gates) for r in everyday for s, m in r.impostor]
    return {
        "levels": ", ".join(f"{r.level.kind} {r.level.family} {r.level.label}" for r in everyday),
        "requests": total,
        "refused": refused,
        "genuine_refused": sum(1 for k, _ in gen if k == "refused"),
        "genuine": len(gen),
        "genuine_failed": sum(1 for k, s in gen if k == "refused" or s < THRESHOLD),
        # refused outright: a 422 or a no_match (under the review floor)
        "genuine_outright": sum(1 for k, s in gen if k == "refused" or s < review_floor),
        "false_matches": sum(1 for k, s in imp if k == "scored" and s >= THRESHOLD),
        "impostors": len(imp),
    }


def _everyday(level: LevelName) -> bool:
    if level.kind == "selfie":
        return level.family == "blur" and level.label == "none"
    if level.family == "phone card":
        return True
    if level.family == "blur":
        return level.label == "none" or int(level.label.split("/")[1]) >= 80
    return level.family == "jpeg" and int(level.label[1:]) >= 70


# --- report ------------------------------------------------------------------------

MIN_GENUINE_REACHING_FLOOR = 0.5


def level_table(results: Sequence[LevelResult], named_gates: Sequence[tuple[str, Gates]],
                review_floor: float) -> list[str]:
    head = (f"{'kind':6} {'degradation':11} {'level':15} {'sharp':>6} {'face':>5} "
            f"{'gen p5':>6} {'gen med':>7} {'pass*':>6} {'imp max':>7} {'imp p99':>7}")
    for name, _ in named_gates:
        head += f" | {name + ': 422':>15} {'FNMR':>6} {'FMR':>5} {'review':>6}"
    lines = [head]
    for r in results:
        base = level_row(r, named_gates[0][1], review_floor)
        line = (f"{base['kind']:6} {base['family']:11} {base['level']:15} "
                f"{base['sharpness_median']:6.3f} {base['face_px_median']:5.0f} "
                f"{base['genuine_p5']:6.1f} {base['genuine_median']:7.1f} "
                f"{base['genuine_pass_ungated']:6.1%} {base['impostor_max']:7.1f} "
                f"{base['impostor_p99']:7.1f}")
        for _, gates in named_gates:
            row = level_row(r, gates, review_floor)
            line += (f" | {row['refused_share']:15.1%} {row['fnmr']:6.1%} {row['fmr']:5.1%} "
                     f"{row['review_share']:6.1%}")
        lines.append(line)
    lines.append("sharp, face: medians of the degraded images' sharpness and face size (px); "
                 "gen/imp: genuine/impostor similarity with the gates off "
                 "(pass*: genuine share >= threshold, no-face refusals counted as fails); "
                 "422: share of the level's requests refused (no face or a gate); "
                 "FNMR counts 422s as non-matches")
    return lines


def bin_table(title: str, rows: Sequence[dict]) -> list[str]:
    lines = [title, f"{'bin':16} {'genuine':>7} {'impostor':>8} {'gen pass':>8} "
             f"{'gen >=floor':>11} {'gen med':>7} {'imp max':>7} {'imp >=floor':>11}"]
    for r in rows:
        if not r["genuine"] and not r["impostor"]:
            continue
        lines.append(
            f"{r['bin']:16} {r['genuine']:7} {r['impostor']:8} "
            f"{_pct(r['genuine_pass']):>8} {_pct(r['genuine_review_or_pass']):>11} "
            f"{r['genuine_median']:7.1f} {r['impostor_max'] or float('nan'):7.1f} "
            f"{r['impostor_over_floor']:11}")
    return lines


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def plot(results: Sequence[LevelResult], gates: Gates, review_floor: float, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = ("blur", "size", "jpeg", "motion")
    fig, axes = plt.subplots(2, len(families), figsize=(5 * len(families), 8.5), sharey=True)
    for row, kind in enumerate(("card", "selfie")):
        for col, family in enumerate(families):
            ax = axes[row][col]
            rs = [r for r in results if r.level.kind == kind and r.level.family == family]
            xs = list(range(len(rs)))
            for i, r in enumerate(rs):
                gen = [s for s, m in r.genuine if s is not None]
                imp = [s for s, m in r.impostor if s is not None]
                ax.scatter([i - 0.12] * len(imp), imp, s=4, color="tab:red", alpha=0.25)
                ax.scatter([i + 0.12] * len(gen), gen, s=4, color="tab:green", alpha=0.35)
                refused = level_row(r, gates, review_floor)["refused_share"]
                if refused:
                    ax.text(i, 2, f"{refused:.0%}", ha="center", fontsize=7)
            ax.axhline(THRESHOLD, color="black", linestyle="--", linewidth=1)
            ax.axhspan(review_floor, THRESHOLD, color="orange", alpha=0.2)
            ax.set_xticks(xs)
            ax.set_xticklabels([r.level.label for r in rs], rotation=45, fontsize=7)
            ax.set_title(f"{kind}: {family}", fontsize=10)
            if col == 0:
                ax.set_ylabel("similarity (green same, red different person)")
    fig.suptitle(f"Degradation sweep (gates off; numbers: share refused with "
                 f"min_sharpness {gates.min_sharpness:g}, min_face_px {gates.min_face_px:g})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def report(results: Sequence[LevelResult], review_floor: float,
           before: Gates, after: Gates) -> list[str]:
    named = [("gates off", before), ("gates", after)]
    lines = ["== degradation sweep: one side of every labelled pair degraded "
             f"(threshold {THRESHOLD:g}, review floor {review_floor:g}) =="]
    lines += level_table(results, named, review_floor)
    sharp_families = ("blur", "motion", "jpeg", "phone card")
    sharp_rows = bin_rows(results, "sharpness", SHARPNESS_BINS, sharp_families, review_floor)
    size_rows = bin_rows(results, "size_px", SIZE_BINS, ("size",), review_floor)
    lines += ["", *bin_table("== by the degraded image's sharpness (blur, motion, JPEG; "
                             "gates off)", sharp_rows)]
    lines += ["", *bin_table("== by the degraded image's face size in px (gates off)",
                             size_rows)]
    lines.append(f"where the engine still tells people apart (no impostor >= {review_floor:g}, "
                 f">= {MIN_GENUINE_REACHING_FLOOR:.0%} of genuine pairs >= {review_floor:g}): "
                 f"sharpness from {recommend(sharp_rows)}, face size from "
                 f"{recommend(size_rows)} px")
    lines.append("")
    for name, gates in named:
        m = mixed_traffic(results, gates, review_floor)
        lines.append(
            f"{name} (min_sharpness {gates.min_sharpness:g}, min_face_px "
            f"{gates.min_face_px:g}) on photo pairs + phone-quality cards: "
            f"422 {m['refused']}/{m['requests']} ({m['refused'] / m['requests']:.1%}); "
            f"genuine refused {m['genuine_refused']}/{m['genuine']}, genuine not matched "
            f"(422 or < {THRESHOLD:g}) {m['genuine_failed']}/{m['genuine']} "
            f"({m['genuine_failed'] / m['genuine']:.1%}), refused outright (422 or < "
            f"{review_floor:g}) {m['genuine_outright']}/{m['genuine']} "
            f"({m['genuine_outright'] / m['genuine']:.1%}); false matches "
            f"{m['false_matches']}/{m['impostors']}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from chalicelib.config.settings import EngineOptions
    from chalicelib.faces.local import engine as local
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--faces-dir", type=Path, default=ps.SHARED_PAIRS.parent)
    parser.add_argument("--review-floor", type=float, default=round(local.REVIEW_FLOOR, 1))
    parser.add_argument("--quick", action="store_true", help="fewer levels")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--table", type=Path, default=ps.REPO / "artifacts" / "quality_sweep.txt")
    parser.add_argument("--plot", type=Path, default=ps.REPO / "artifacts" / "quality_sweep.png")
    parser.add_argument("--cache", type=Path,
                        default=ps.REPO / "artifacts" / "quality_sweep.pickle",
                        help="measurements are saved here")
    parser.add_argument("--cached", action="store_true",
                        help="report from the saved measurements instead of measuring")
    parser.add_argument("--detectors", action="store_true",
                        help="only count the card portraits each detector finds")
    args = parser.parse_args(argv)
    if not (args.faces_dir / "pairs.csv").exists():
        print(f"{args.faces_dir / 'pairs.csv'} not found: pass --faces-dir", file=sys.stderr)
        return 2
    if args.detectors:
        print("\n".join(detector_table(args.faces_dir)))
        return 0
    if args.cached and args.cache.exists():
        results = pickle.loads(args.cache.read_bytes())
    else:
        results, _ = run(args.faces_dir, args.quick, args.workers,
                         lambda msg: print("  " + msg, file=sys.stderr, flush=True))
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(results))
    before = GATES_OFF
    after = Gates(local.DEFAULT_MIN_SHARPNESS, EngineOptions.min_face_px)
    lines = report(results, args.review_floor, before, after)
    lines.append(f"plot: {plot(results, after, args.review_floor, args.plot)}")
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text("\n".join(lines) + "\n")
    lines.append(f"table: {args.table}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
