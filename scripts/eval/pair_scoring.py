"""Scoring labelled image pairs with the offline engine, and what
bench_engine.py and calibrate.py print and plot from the scores.

A pairs CSV has the columns image_a,image_b,same_person (1 or 0), image paths
relative to the CSV. image_a plays the identity document, image_b the
selfie. A pair the engine rejects (no face, several faces, face too small or
blurred) scores None: it counts as a non-match, so it is a false non-match
when the pair is genuine and never a false match."""
from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.config.settings import EngineOptions
from chalicelib.core.errors import ApiError
from chalicelib.imaging.image import Image
from chalicelib.imaging.prepare import prepare

REPO = Path(__file__).resolve().parents[2]
DEFAULT_THRESHOLD = 80.0      # the API's default similarity threshold
SHARED_PAIRS = REPO.parent / "shared" / "faces" / "pairs.csv"


@dataclass(frozen=True)
class Pair:
    a: Path
    b: Path
    same: bool


@dataclass
class Outcome:
    pair: Pair
    similarity: float | None   # None: rejected (error code in `error`)
    error: str | None
    ms: float                     # wall time of the whole verification


def read_pairs(csv_path: Path) -> list[Pair]:
    base = csv_path.resolve().parent
    pairs = []
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            same = row["same_person"].strip().lower() in ("1", "true", "yes", "y")
            pairs.append(Pair(base / row["image_a"], base / row["image_b"], same))
    if not pairs:
        raise SystemExit(f"{csv_path}: no pairs")
    return pairs


def prepared(data: bytes, field: str) -> Image:
    """Bytes -> the engine's image exactly as the service makes it
    (chalicelib.images.prepare: check_image + normalise). Raises the
    ApiError a request would get."""
    return prepare(data, field)


def load_image(path: Path, field: str, data: bytes | None = None) -> Image:
    """The engine's input for a file (or its bytes), as the service hands it over."""
    return prepared(path.read_bytes() if data is None else data, field)


def read_images(pairs: Sequence[Pair]) -> dict[Path, bytes]:
    """Every image of the pairs, read once."""
    return {path: path.read_bytes() for path in sorted({p.a for p in pairs} | {p.b for p in pairs})}


def score_with_engine(pairs: Sequence[Pair], engine,
                      progress: Callable[[int, int], None] | None = None,
                      images: dict[Path, bytes] | None = None) -> list[Outcome]:
    """Verify every pair end to end with engine.compare (document = image_a).
    images: the files' bytes, if already read (read_images)."""
    cache = {}

    def image(path: Path, field: str) -> Image:
        key = (path, field)
        if key not in cache:
            cache[key] = load_image(path, field, images.get(path) if images else None)
        return cache[key]

    outcomes = []
    for i, pair in enumerate(pairs):
        start = time.perf_counter()
        try:
            # prepare() is cached per image: ms is the engine's time
            doc, selfie = image(pair.a, "dl"), image(pair.b, "selfie")
            start = time.perf_counter()
            similarity, error = engine.compare(doc, selfie).similarity, None
        except ApiError as exc:
            similarity, error = None, exc.code
        outcomes.append(Outcome(pair, similarity, error, (time.perf_counter() - start) * 1000))
        if progress:
            progress(i + 1, len(pairs))
    return outcomes


def local_engine(options: EngineOptions | None = None):
    from chalicelib.faces.local.engine import LocalEngine
    return LocalEngine(options or EngineOptions())


# --- rates ----------------------------------------------------------------

def split(outcomes: Iterable[Outcome]) -> tuple[list[float | None], list[float | None]]:
    genuine, impostor = [], []
    for o in outcomes:
        (genuine if o.pair.same else impostor).append(o.similarity)
    return genuine, impostor


def _matches(scores: Sequence[float | None], threshold: float) -> int:
    return sum(1 for s in scores if s is not None and s >= threshold)


@dataclass(frozen=True)
class Rates:
    threshold: float
    false_matches: int
    impostors: int
    false_non_matches: int
    genuines: int

    @property
    def fmr(self) -> float:
        return self.false_matches / self.impostors if self.impostors else math.nan

    @property
    def fnmr(self) -> float:
        return self.false_non_matches / self.genuines if self.genuines else math.nan

    @property
    def accuracy(self) -> float:
        total = self.impostors + self.genuines
        return 1 - (self.false_matches + self.false_non_matches) / total if total else math.nan


def rates(genuine: Sequence[float | None], impostor: Sequence[float | None],
          threshold: float) -> Rates:
    return Rates(threshold, _matches(impostor, threshold), len(impostor),
                 len(genuine) - _matches(genuine, threshold), len(genuine))


def fmr_upper_bound(impostors: int) -> float:
    """95% upper bound of the FMR when no false match was seen ("rule of three")."""
    return 3.0 / impostors if impostors else math.nan


def threshold_for_fmr(impostor: Sequence[float | None], target_fmr: float) -> float:
    """The lowest threshold whose measured FMR is at most target_fmr: just
    above the (k+1)-th highest impostor score, k = floor(target * impostors)."""
    scores = sorted((s for s in impostor if s is not None), reverse=True)
    allowed = math.floor(target_fmr * len(impostor) + 1e-9)
    if allowed >= len(scores):
        return 0.0
    return math.nextafter(scores[allowed], math.inf)


def tradeoff_table(genuine, impostor, thresholds: Iterable[float]) -> str:
    from chalicelib.faces.local.engine import distance_from_similarity
    lines = [f"{'threshold':>9} {'distance':>8} {'FMR':>8} {'false matches':>14} "
             f"{'FNMR':>7} {'false non-matches':>18}"]
    for t in thresholds:
        r = rates(genuine, impostor, t)
        dist = distance_from_similarity(t) if 0 < t < 100 else math.nan
        lines.append(f"{t:9.2f} {dist:8.3f} {r.fmr:8.4%} {r.false_matches:>7}/{r.impostors:<6} "
                     f"{r.fnmr:7.2%} {r.false_non_matches:>9}/{r.genuines:<8}")
    return "\n".join(lines)


def score_summary(name: str, scores: Sequence[float | None]) -> str:
    valid = sorted(s for s in scores if s is not None)
    rejected = len(scores) - len(valid)
    if not valid:
        return f"{name}: {len(scores)} pairs, all rejected"
    def q(p):
        return (valid[min(len(valid) - 1, round(p * (len(valid) - 1)))])
    return (f"{name}: n={len(scores)} rejected={rejected} min={valid[0]:.1f} p5={q(.05):.1f} "
            f"median={statistics.median(valid):.1f} p95={q(.95):.1f} max={valid[-1]:.1f}")


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def error_counts(outcomes: Iterable[Outcome]) -> dict:
    counts: dict = {}
    for o in outcomes:
        if o.error:
            counts[o.error] = counts.get(o.error, 0) + 1
    return counts


# --- plot -----------------------------------------------------------------

def plot(curves: Sequence[tuple[str, Sequence[float | None], Sequence[float | None]]],
         threshold: float, review_floor: float | None, path: Path) -> Path:
    """Score histograms (genuine vs impostor, first curve) with the threshold
    and review floor; a DET curve (FNMR against FMR) and the error rates
    against the threshold (which shows the margin when the set separates
    perfectly) for every curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(19, 5.5))
    name, genuine, impostor = curves[0]
    bins = [i * 2 for i in range(51)]
    ax1.hist([s for s in impostor if s is not None], bins=bins, alpha=0.6, color="tab:red",
             label=f"different person (n={len(impostor)})")
    ax1.hist([s for s in genuine if s is not None], bins=bins, alpha=0.6, color="tab:green",
             label=f"same person (n={len(genuine)})")
    ax1.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    if review_floor is not None:
        ax1.axvspan(review_floor, threshold, color="orange", alpha=0.2,
                    label=f"review band {review_floor:g}-{threshold:g}")
    ax1.set_yscale("log")
    ax1.set_xlabel("similarity (0-100)")
    ax1.set_ylabel("pairs (log scale)")
    ax1.set_title(f"Similarity scores: {name}")
    ax1.legend(fontsize=8)

    grid = [x / 4 for x in range(0, 401)]
    colors = ("tab:blue", "tab:purple", "tab:gray")
    for (name, genuine, impostor), color in zip(curves, colors, strict=False):
        floor_fmr = 0.5 / max(1, len(impostor))
        floor_fnmr = 0.5 / max(1, len(genuine))
        xs, ys = [], []
        for t in grid:
            r = rates(genuine, impostor, t)
            xs.append(max(r.fmr, floor_fmr))
            ys.append(max(r.fnmr, floor_fnmr))
        ax2.plot(xs, ys, label=name, color=color)
        r = rates(genuine, impostor, threshold)
        ax2.plot([max(r.fmr, floor_fmr)], [max(r.fnmr, floor_fnmr)], "o", color=color)
        ax3.plot(grid, xs, color=color, linestyle="-", label=f"{name}: FMR")
        ax3.plot(grid, ys, color=color, linestyle=":", label=f"{name}: FNMR")
    ax3.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    if review_floor is not None:
        ax3.axvspan(review_floor, threshold, color="orange", alpha=0.2)
    ax3.set_yscale("log")
    ax3.set_xlabel("similarity threshold")
    ax3.set_ylabel("error rate (zero drawn at 0.5/pairs)")
    ax3.set_title("Error rates against the threshold")
    ax3.grid(True, which="both", alpha=0.3)
    ax3.legend(fontsize=8)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("false match rate (zero drawn at 0.5/impostors)")
    ax2.set_ylabel("false non-match rate (zero drawn at 0.5/genuines)")
    ax2.set_title(f"DET curve (dot: threshold {threshold:g})")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
