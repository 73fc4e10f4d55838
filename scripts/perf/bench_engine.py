#!/usr/bin/env python3
"""Benchmark of the offline face engine against a labelled pairs CSV.

For the engine (chalicelib/faces/local/) and for the NAIVE pipeline that
face_recognition uses (full resolution, HOG with one x2 upsample on both
images, landmarks and descriptor on the full image), each run in its own
process so that peak memory is its own:

- accuracy, false matches and false non-matches at the threshold, with counts;
- similarity distribution of genuine and impostor pairs;
- median and p95 milliseconds per verification, peak memory (max RSS);
- timing of a synthetic 1000x630 ID card + 720p selfie and of a 12 MP selfie;
- a PNG plot: score histograms with the threshold and review band, and DET
  curves of both pipelines.

    python -m scripts.perf.bench_engine [--pairs ../shared/faces/pairs.csv] [--limit N]

Image paths in the CSV are relative to it; image_a plays the document, image_b
the selfie. Needs matplotlib (plot) besides requirements-local.txt.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from scripts.eval import pair_scoring as ps

SYNTHETIC_REPEATS = 21
NAIVE_SYNTHETIC_REPEATS = 3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- synthetic cases ----------------------------------------------------------

def make_synthetic(faces_dir: Path) -> dict:
    """{"card": jpeg, "selfie_720p": jpeg, "selfie_12mp": jpeg} from real photos."""
    import dlib
    import numpy as np
    from PIL import Image as PILImage

    from scripts.eval import face_samples as fs

    source = PILImage.open(faces_dir / "face_recognition" / "obama.jpg").convert("RGB")
    rect = max(dlib.get_frontal_face_detector()(np.asarray(source), 0), key=lambda r: r.area())
    portrait = fs.portrait_crop(source, (rect.left(), rect.top(), rect.right() + 1,
                                         rect.bottom() + 1))
    card = fs.jpeg_bytes(fs.id_card(portrait, portrait_height=240), quality=85)
    selfie = (faces_dir / "face_recognition" / "obama-720p.jpg").read_bytes()
    big = fs.jpeg_bytes(fs.large_selfie(
        PILImage.open(faces_dir / "face_recognition" / "obama-1080p.jpg")), quality=90)
    return {"card": card, "selfie_720p": selfie, "selfie_12mp": big}


def _time(fn, repeats: int) -> dict:
    return _time_interleaved({"": fn}, repeats)[""]


def _time_interleaved(fns: dict, repeats: int) -> dict:
    """Time several functions taking turns, so that load from other processes
    on the machine falls on all of them alike. {name: {median, p95, n}}."""
    for fn in fns.values():
        fn()                                 # warm-up (model loading)
    ms: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            ms[name].append((time.perf_counter() - start) * 1000)
    return {name: {"median": statistics.median(v), "p95": ps.percentile(v, 0.95), "n": repeats}
            for name, v in ms.items()}


# --- the engine, before and after issue 8 ---------------------------------------

ENGINE_NAMES = {"after": "engine (chalicelib/faces/local/)",
                "before": "engine before issue 8 (HOG detector, no second look)"}


def run_local(pairs, images: dict, synthetic: dict, quiet: bool) -> dict:
    """Both pipelines in one process: their synthetic timings take turns."""
    from chalicelib.config.settings import EngineOptions
    from chalicelib.faces.local import engine as local
    from chalicelib.faces.local import runtime
    engines = {"after": local.LocalEngine(EngineOptions()),
               "before": local.LocalEngine(EngineOptions(), local.BEFORE_ISSUE_8)}
    card = ps.prepared(synthetic["card"], "dl")
    s720 = ps.prepared(synthetic["selfie_720p"], "selfie")
    s12 = ps.prepared(synthetic["selfie_12mp"], "selfie")
    timing = {}
    for case, selfie in (("card + 720p selfie", s720), ("card + 12 MP selfie", s12)):
        timing[case] = _time_interleaved(
            {name: (lambda e=e, s=selfie: e.compare(card, s)) for name, e in engines.items()},
            SYNTHETIC_REPEATS)
    # The pairs too take turns, pair by pair, so that both see the same load.
    outcomes: dict = {name: [] for name in engines}
    progress = None if quiet else _progress("pairs")
    for i, pair in enumerate(pairs):
        for name, engine in engines.items():
            outcomes[name] += ps.score_with_engine([pair], engine, None, images)
        if progress:
            progress(i + 1, len(pairs))
    out = {}
    for name in engines:
        out[name] = {"outcomes": outcomes[name],
                     "synthetic": {case: t[name] for case, t in timing.items()}}
    for result in out.values():
        result["peak_mb"] = _peak_mb()
        result["model_loads"] = len(runtime.model_loads())
    return out


# --- the naive pipeline -----------------------------------------------------

class Naive:
    """face_recognition's way: full-resolution decode, HOG with one upsample,
    largest face, 5-point landmarks and descriptor on the full image."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as frm
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def describe(self, data: bytes):
        import io

        import numpy as np
        from PIL import Image as PILImage
        arr = np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"))
        rects = self.detector(arr, 1)
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.area())
        return np.asarray(self.encoder.compute_face_descriptor(arr, self.predictor(arr, rect)))

    def compare(self, a: bytes, b: bytes):
        import numpy as np

        from chalicelib.faces.local.calibration import similarity_from_distance
        da, db = self.describe(a), self.describe(b)
        if da is None or db is None:
            return None
        return similarity_from_distance(float(np.linalg.norm(da - db)))


def run_naive(pairs, images: dict, synthetic: dict, quiet: bool) -> dict:
    naive = Naive()
    timing = {
        "card + 720p selfie": _time(lambda: naive.compare(synthetic["card"],
                                                          synthetic["selfie_720p"]),
                                    NAIVE_SYNTHETIC_REPEATS),
        "card + 12 MP selfie": _time(lambda: naive.compare(synthetic["card"],
                                                           synthetic["selfie_12mp"]),
                                     NAIVE_SYNTHETIC_REPEATS),
    }
    # Each image is described once; a verification's time is the sum of its
    # two images' (the naive pipeline runs them one after the other).
    described = {}
    paths = sorted({p.a for p in pairs} | {p.b for p in pairs})
    for i, path in enumerate(paths):
        data = images[path]
        start = time.perf_counter()
        described[path] = (naive.describe(data), (time.perf_counter() - start) * 1000)
        if not quiet:
            _progress("naive images")(i + 1, len(paths))
    import numpy as np

    from chalicelib.faces.local.calibration import similarity_from_distance
    outcomes = []
    for pair in pairs:
        (da, ta), (db, tb) = described[pair.a], described[pair.b]
        if da is None or db is None:
            outcomes.append(ps.Outcome(pair, None, "NO_FACE", ta + tb))
        else:
            sim = similarity_from_distance(float(np.linalg.norm(da - db)))
            outcomes.append(ps.Outcome(pair, sim, None, ta + tb))
    return {"outcomes": outcomes, "synthetic": timing, "peak_mb": _peak_mb()}


def _progress(label: str):
    def report(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)
    return report


def _in_child(fn, *args):
    """Run fn in a fresh process: its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# --- report -----------------------------------------------------------------

def summarise(name: str, result: dict, threshold: float, review_floor: float) -> list:
    outcomes = result["outcomes"]
    lines = [f"== {name} =="]
    if outcomes:
        lines += _pair_lines(outcomes, threshold, review_floor)
    for case, t in result["synthetic"].items():
        lines.append(f"{case}: median {t['median']:.0f} ms, p95 {t['p95']:.0f} ms "
                     f"(n={t['n']})")
    lines.append(f"peak memory (max RSS of its process): {result['peak_mb']:.0f} MB")
    if "model_loads" in result:
        lines.append(f"model sets loaded: {result['model_loads']}")
    return lines


def _pair_lines(outcomes, threshold: float, review_floor: float) -> list:
    genuine, impostor = ps.split(outcomes)
    r = ps.rates(genuine, impostor, threshold)
    review = sum(1 for s in genuine + impostor
                 if s is not None and review_floor <= s < threshold)
    review_g = sum(1 for s in genuine if s is not None and review_floor <= s < threshold)
    ms = [o.ms for o in outcomes]
    return [
        f"pairs: {len(outcomes)} ({r.genuines} genuine, {r.impostors} impostor); "
        f"rejected by errors: {ps.error_counts(outcomes) or 'none'}",
        f"threshold {threshold:g}: accuracy {r.accuracy:.2%}; "
        f"false matches {r.false_matches}/{r.impostors} (FMR {r.fmr:.2%}, "
        f"95% upper bound {max(r.fmr, ps.fmr_upper_bound(r.impostors)):.2%} "
        f"if none seen); false non-matches {r.false_non_matches}/{r.genuines} "
        f"(FNMR {r.fnmr:.2%})",
        f"review band [{review_floor:g}, {threshold:g}): {review} pairs "
        f"({review_g} genuine, {review - review_g} impostor)",
        ps.score_summary("genuine scores ", genuine),
        ps.score_summary("impostor scores", impostor),
        f"ms per verification over the pairs: median {statistics.median(ms):.0f}, "
        f"p95 {ps.percentile(ms, 0.95):.0f}",
    ]


def side_by_side(both: dict, threshold: float, review_floor: float) -> list:
    """One table: the engine before issue 8 and now, measured in this run."""
    rows = []
    for name in ("before", "after"):
        result = both[name]
        row = {"": name}
        if result["outcomes"]:
            genuine, impostor = ps.split(result["outcomes"])
            r = ps.rates(genuine, impostor, threshold)
            scores = genuine + impostor
            ms = [o.ms for o in result["outcomes"]]
            row.update({
                "FNMR": f"{r.fnmr:.2%} ({r.false_non_matches}/{r.genuines})",
                "FMR": f"{r.fmr:.2%} ({r.false_matches}/{r.impostors})",
                "review": "{:.2%}".format(sum(1 for s in scores if s is not None
                                              and review_floor <= s < threshold) / len(scores)),
                "genuine < floor": str(sum(1 for s in genuine if s is None or s < review_floor)),
                "pairs ms med/p95": f"{statistics.median(ms):.0f}/{ps.percentile(ms, 0.95):.0f}",
            })
        for case, t in result["synthetic"].items():
            row[f"{case} ms med/p95"] = f"{t['median']:.0f}/{t['p95']:.0f}"
        rows.append(row)
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r.get(k, "")) for r in rows)) for k in keys}
    lines = [f"== before/after issue 8, same run (threshold {threshold:g}, review floor "
             f"{review_floor:g}; synthetic timings interleaved) =="]
    lines.append("  ".join(k.ljust(widths[k]) for k in keys))
    lines += ["  ".join(r.get(k, "").ljust(widths[k]) for k in keys) for r in rows]
    return lines


def main(argv=None) -> int:
    from chalicelib.faces.local import calibration
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=ps.SHARED_PAIRS)
    parser.add_argument("--limit", type=int, default=0, help="first N pairs only")
    parser.add_argument("--threshold", type=float, default=ps.DEFAULT_THRESHOLD)
    parser.add_argument("--review-floor", type=float,
                        default=round(calibration.REVIEW_FLOOR, 1))
    parser.add_argument("--faces-dir", type=Path, default=ps.SHARED_PAIRS.parent,
                        help="folder with face_recognition/obama*.jpg for the synthetic cases")
    parser.add_argument("--plot", type=Path, default=ps.REPO / "artifacts" / "bench.png")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--timing-only", action="store_true",
                        help="only the synthetic cases (no pairs)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not args.pairs.exists():
        print(f"{args.pairs} not found: pass --pairs CSV", file=sys.stderr)
        return 2
    pairs = ps.read_pairs(args.pairs)
    if args.limit:
        pairs = pairs[:args.limit]
    if args.timing_only:
        pairs = []
    images = ps.read_images(pairs)
    synthetic = make_synthetic(args.faces_dir)
    print(f"{os.cpu_count()} CPUs; {len(pairs)} pairs from {args.pairs}", flush=True)

    both = _in_child(run_local, pairs, images, synthetic, args.quiet)
    local = both["after"]
    lines = []
    for name in ("after", "before"):
        lines += summarise(ENGINE_NAMES[name], both[name], args.threshold, args.review_floor)
    curves = [("engine", *ps.split(local["outcomes"])),
              ("before issue 8", *ps.split(both["before"]["outcomes"]))]
    if not args.skip_naive:
        naive = _in_child(run_naive, pairs, images, synthetic, args.quiet)
        lines += summarise("naive (full resolution, HOG upsample x1, as face_recognition)",
                           naive, args.threshold, args.review_floor)
        curves.append(("naive", *ps.split(naive["outcomes"])))
        ratios = [f"{case} {naive['synthetic'][case]['median'] / t['median']:.1f}x"
                  for case, t in local["synthetic"].items()]
        if pairs:
            ratios.insert(0, "pairs {:.1f}x".format(
                statistics.median(o.ms for o in naive["outcomes"])
                / statistics.median(o.ms for o in local["outcomes"])))
        lines.append("== speed ratio naive/engine (medians): " + ", ".join(ratios))
    lines += side_by_side(both, args.threshold, args.review_floor)
    if pairs:
        lines.append(f"plot: {ps.plot(curves, args.threshold, args.review_floor, args.plot)}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
