"""The offline face engine: dlib's HOG face detector, 5-point landmarks and
ResNet face descriptor, run inside the service (no cloud call).

How one verification runs (docs/offline-engine.md has the reasoning and the
measurements behind every constant below):

1. Each image is decoded by Pillow once (large JPEGs with DCT scaling to no
   less than DECODE_MIN_SIDE pixels on the long side), EXIF orientation
   applied, converted to RGB.
2. Faces are found with the HOG detector on a downscaled copy first; the
   image is searched at higher resolution (and finally upsampled x2) only when
   nothing was found, so large selfies never pay for an upsample.
3. The document's largest face is used; other faces on a document (the faded
   "ghost" copy of the portrait, spurious detections) are ignored. A selfie
   face counts as another person when it is at least MULTI_FACE_RATIO as wide
   as the largest one (and its detector score is at least STRONG_FACE_SCORE).
4. Landmarks and the 150x150 aligned face chip come from the decoded image at
   full detail; the chip gives a sharpness score (blur check) and the
   128-d descriptor.
5. similarity = 100 / (1 + exp((distance - 0.60) / SCALE)), a logistic curve
   with 50 at dlib's usual 0.60 boundary and 80 at DISTANCE_AT_80, the
   security operating point.

dlib objects are not safe to share between threads (a shared model computes
silently wrong descriptors), and loading them per request costs ~100 ms. So
all dlib work runs on a small pool of long-lived worker threads owned by this
module, each with its own models (threading.local), loaded on first use. The
document and the selfie are analysed on two workers at once: the detector
releases the GIL, so their detections overlap.

numpy and dlib are imported lazily inside this module only: cloud stages never
import it.
"""
from __future__ import annotations

import io
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from PIL import Image as PILImage
from PIL import ImageOps

from chalicelib import errors
from chalicelib.engines.base import Comparison, EngineOptions, Face, Image
from chalicelib.image_checks import DECODE_ERRORS
from chalicelib.image_normalise import flatten_alpha, has_alpha

# --- decoding -------------------------------------------------------------
# JPEGs larger than this on their long side are decoded with DCT scaling
# (1/2, 1/4, 1/8) to no less than this: a 12 MP selfie decodes at 2000x1500,
# where any face worth comparing is still far larger than the 150 px chip.
DECODE_MIN_SIDE = 1600

# --- detection ------------------------------------------------------------
# dlib's HOG detector scans an 80x80 window: it finds faces whose box is
# about 80 px or more at the scale it is run on.
HOG_MIN_BOX = 80
# First detection pass on selfies: long side scaled down to this.
SELFIE_DETECT_SIDE = 640
# ...unless the selfie has at most this many pixels (a 720p frame): then the
# first pass is at full size, because the multi-face rule below would almost
# always need a full-size pass after a 640 px one.
SELFIE_FULL_SIZE_MAX_PIXELS = 1_000_000
# First pass on documents: their faces are small, start at full size (capped).
DOCUMENT_DETECT_SIDE = 1280
# Larger than this (pixels at full decoded size) and an image is never
# upsampled x2 when no face was found: a face under ~80 px in such a photo is
# not a usable selfie, and upsampling it would take seconds.
UPSAMPLE_MAX_PIXELS = 2_000_000
# A second selfie face counts (MULTIPLE_FACES, or a candidate in
# allow_multiple_faces mode) when its box is at least this fraction of the
# largest face's width. 1/3 keeps a printed photo or a phone screen held up
# beside the face (typically 0.35-0.5 of the real face) counted as a second
# face, while the portrait on an ID card held up next to the face (~0.15-0.2)
# and distant bystanders are ignored. The face compared (without
# allow_multiple_faces) is always the largest one, so an ignored smaller face
# can never be the one that matches.
MULTI_FACE_RATIO = 1 / 3
# A detection is a face for the choice of the largest face and for the
# multi-face rule when its HOG score is at least this (confidence 74): the
# real faces of the labelled set score 0.59-3.3 and a 73 px card portrait
# 0.46, while the spurious detections seen (a spacesuit fold, a background
# pattern) score 0.08-0.27. When nothing scores that high, the best-scoring
# detection is used alone, so a weak but real face still counts.
STRONG_FACE_SCORE = 0.35
# Detections overlapping more than this (intersection over union) are one face.
SAME_FACE_IOU = 0.3

# --- quality --------------------------------------------------------------
# Sharpness: variance of the Laplacian of the grey, contrast-normalised
# 150x150 aligned chip reduced to SHARPNESS_CHIP px (so the score depends on
# blur relative to the face, not on the photo's resolution or contrast; a faded
# document portrait is not "blurred"). The labelled set's sharp faces score
# 0.10-1.09; a Gaussian blur of 1/70 of the face's width brings faces to
# 0.02-0.06 (and moves their descriptor 0.22-0.35), 1/40 to 0.005-0.04.
SHARPNESS_CHIP = 75
DEFAULT_MIN_SHARPNESS = 0.05

# --- similarity -----------------------------------------------------------
# Similarity is a logistic function of the descriptor distance, 50 at
# DISTANCE_AT_50 (dlib's customary "same person" boundary) and 80 -- the
# default threshold -- at DISTANCE_AT_80, the security operating point.
DISTANCE_AT_50 = 0.60
DISTANCE_AT_80 = 0.50
SIMILARITY_SCALE = (DISTANCE_AT_50 - DISTANCE_AT_80) / math.log(4.0)

# Faces compared per selfie in allow_multiple_faces mode (largest first).
MAX_SELFIE_CANDIDATES = 5

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def similarity_from_distance(distance: float) -> float:
    """The one distance -> similarity (0-100) mapping; strictly decreasing."""
    z = (distance - DISTANCE_AT_50) / SIMILARITY_SCALE
    if z > 700:        # exp overflow; similarity is 0 to any precision
        return 0.0
    return 100.0 / (1.0 + math.exp(z))


# The review band: distances from DISTANCE_AT_80 up to REVIEW_DISTANCE are
# ambiguous (decision "review" rather than "no match"). The core reads the
# band's lower edge, as a similarity, from the stage's IPS_REVIEW_FLOOR.
REVIEW_DISTANCE = 0.56
REVIEW_FLOOR = 100.0 / (1.0 + math.exp((REVIEW_DISTANCE - DISTANCE_AT_50) / SIMILARITY_SCALE))


def distance_from_similarity(similarity: float) -> float:
    """Inverse of similarity_from_distance (0 < similarity < 100)."""
    return DISTANCE_AT_50 + SIMILARITY_SCALE * math.log(100.0 / similarity - 1.0)


def confidence_from_score(score: float) -> float:
    """Detector confidence 0-100 from the HOG detector's SVM score.

    The detector reports faces whose score is above 0; 0 is its decision
    boundary, so it maps to 50, and the logistic 100/(1+exp(-3*score)) puts a
    typical clear frontal face (score 1.5-2.5) at 99-99.9."""
    return 100.0 / (1.0 + math.exp(-3.0 * max(-50.0, min(50.0, score))))


# --- per-thread models ------------------------------------------------------

class _Models:
    """One thread's dlib models. Never shared between threads."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as frm
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(
            frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())


_local = threading.local()
_loads_lock = threading.Lock()
_model_loads = 0          # how many model sets were loaded (tests check reuse)


def _models() -> _Models:
    global _model_loads
    models = getattr(_local, "models", None)
    if models is None:
        models = _Models()
        _local.models = models
        with _loads_lock:
            _model_loads += 1
    return models


def model_loads() -> int:
    """How many per-thread model sets this process has loaded so far."""
    return _model_loads


_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def _workers() -> int:
    try:
        return max(2, int(os.environ.get("IPS_LOCAL_WORKERS", "")))
    except ValueError:
        return max(2, os.cpu_count() or 2)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_workers(),
                                       thread_name_prefix="ips-face")
        return _pool


def preload() -> int:
    """Load every worker's models now (at server start-up), so that no
    request pays ~1.4 s for imports and model files. Returns the worker count."""
    import numpy  # noqa: F401  (the import itself is part of the first-request cost)
    pool = _executor()
    count = _workers()
    # Each task holds its worker until all have started: one task per worker.
    barrier = threading.Barrier(count)

    def load() -> None:
        _models()
        barrier.wait(timeout=300)

    for future in [pool.submit(load) for _ in range(count)]:
        future.result()
    return count


# --- analysis of one image ------------------------------------------------------

@dataclass
class _Detection:
    left: float      # in decoded-image pixels
    top: float
    right: float
    bottom: float
    score: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def iou(self, other: "_Detection") -> float:
        ix = max(0.0, min(self.right, other.right) - max(self.left, other.left))
        iy = max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


@dataclass
class _FaceResult:
    face: Face
    size_px: float            # box side in the submitted image's pixels
    sharpness: float
    descriptor: object        # numpy array (128,)


@dataclass
class _Analysis:
    faces: List[_FaceResult]  # counted faces, largest first (documents: one)
    counted: int              # faces counted (selfie multi-face rule)


def decode(data: bytes):
    """Decode once, EXIF-orient, RGB. Returns (PIL RGB image, reduction factor):
    the decoded image is 1/factor of the submitted image's size."""
    img = PILImage.open(io.BytesIO(data))
    factor = 1
    if img.format in ("JPEG", "MPO"):     # MPO: phone JPEGs with extra frames
        long_side = max(img.size)
        while factor < 8 and long_side // (factor * 2) >= DECODE_MIN_SIDE:
            factor *= 2
        if factor > 1:
            img.draft("RGB", (img.size[0] // factor, img.size[1] // factor))
            # draft may choose another scale: measure the one it chose.
            factor = max(1, round(long_side / max(img.size)))
    img.load()
    img = ImageOps.exif_transpose(img)
    if has_alpha(img):
        img = flatten_alpha(img)
    elif img.mode != "RGB":
        img = img.convert("RGB")
    return img, factor


def _scaled_array(np, img, scale: float):
    if scale == 1.0:
        return np.asarray(img)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return np.asarray(img.resize(size, PILImage.BILINEAR, reducing_gap=2.0))


def _detect(models: _Models, np, img, scale: float) -> List[_Detection]:
    """HOG detection at `scale` of the decoded image (>1: dlib upsampling)."""
    if scale > 1.0:
        # dlib upsamples x2 itself and reports boxes in the input's pixels
        arr, upsample, s = np.asarray(img), 1, 1.0
    else:
        arr, upsample, s = _scaled_array(np, img, scale), 0, scale
    rects, scores, _ = models.detector.run(arr, upsample, 0.0)
    return [_Detection(r.left() / s, r.top() / s, (r.right() + 1) / s, (r.bottom() + 1) / s,
                       float(sc)) for r, sc in zip(rects, scores)]


def _merge(found: Sequence[_Detection], more: Sequence[_Detection]) -> List[_Detection]:
    merged = list(found)
    for d in more:
        same = [i for i, m in enumerate(merged) if m.iou(d) > SAME_FACE_IOU]
        if same:
            # keep the box found at the higher resolution (later pass)
            merged[same[0]] = d
        else:
            merged.append(d)
    return merged


def _find_faces(models: _Models, np, img, role: str) -> List[_Detection]:
    """Faces in the decoded image, largest first; empty if none."""
    long_side = max(img.size)
    if role == "selfie":
        small = img.width * img.height <= SELFIE_FULL_SIZE_MAX_PIXELS
        first_side = long_side if small else SELFIE_DETECT_SIDE
    else:
        first_side = DOCUMENT_DETECT_SIDE
    scales = []
    scale = min(1.0, first_side / long_side)
    while scale < 1.0:
        scales.append(scale)
        scale *= 2.0
    scales.append(1.0)
    if img.width * img.height <= UPSAMPLE_MAX_PIXELS:
        scales.append(2.0)
    found: List[_Detection] = []
    used = 0.0
    for scale in scales:
        found = _detect(models, np, img, scale)
        used = scale
        if found:
            break
    if found and role == "selfie":
        # A face MULTI_FACE_RATIO as wide as the largest must be searched at a
        # scale where it is at least HOG_MIN_BOX px; search again if not.
        largest = select_faces(found)[0].width
        needed = HOG_MIN_BOX * 1.1 / (MULTI_FACE_RATIO * largest)
        if needed > used and used < 1.0:
            found = _merge(found, _detect(models, np, img, min(1.0, needed)))
    return sorted(found, key=lambda d: d.width * d.height, reverse=True)


def select_faces(detections: Sequence[_Detection]) -> List[_Detection]:
    """The faces that count, largest first: the strong detections (or the
    best-scoring one when none is strong) at least MULTI_FACE_RATIO as wide
    as the largest of them. The first is the face compared."""
    if not detections:
        return []
    strong = [d for d in detections if d.score >= STRONG_FACE_SCORE]
    pool = strong or [max(detections, key=lambda d: d.score)]
    pool = sorted(pool, key=lambda d: d.width * d.height, reverse=True)
    return [d for d in pool if d.width >= MULTI_FACE_RATIO * pool[0].width]


def _sharpness(np, chip) -> float:
    """Variance of the Laplacian of the grey, contrast-normalised chip."""
    grey = PILImage.fromarray(chip).convert("L").resize(
        (SHARPNESS_CHIP, SHARPNESS_CHIP), PILImage.BOX)
    g = np.asarray(grey, dtype=np.float64)
    std = g.std()
    if std < 1e-6:
        return 0.0
    g = (g - g.mean()) / std
    lap = (g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1])
    return float(lap.var())


def _chip(models: _Models, np, arr, det: _Detection):
    """Aligned 150x150 face chip from the decoded image, via a crop around
    the face (landmarks and chip never touch the rest of a large photo)."""
    dlib = models.dlib
    h, w = arr.shape[:2]
    margin = max(det.width, det.height)
    x0 = int(max(0, math.floor(det.left - margin)))
    y0 = int(max(0, math.floor(det.top - margin)))
    x1 = int(min(w, math.ceil(det.right + margin)))
    y1 = int(min(h, math.ceil(det.bottom + margin)))
    crop = np.ascontiguousarray(arr[y0:y1, x0:x1])
    rect = dlib.rectangle(int(round(det.left - x0)), int(round(det.top - y0)),
                          int(round(det.right - x0)) - 1, int(round(det.bottom - y0)) - 1)
    shape = models.shape_predictor(crop, rect)
    return dlib.get_face_chip(crop, shape, CHIP_SIZE, CHIP_PADDING)


def _face(det: _Detection, width: int, height: int) -> Face:
    left = min(1.0, max(0.0, det.left / width))
    top = min(1.0, max(0.0, det.top / height))
    right = min(1.0, max(0.0, det.right / width))
    bottom = min(1.0, max(0.0, det.bottom / height))
    return Face(left=left, top=top, width=right - left, height=bottom - top,
                confidence=confidence_from_score(det.score))


def analyse(image: Image, role: str, options: EngineOptions) -> _Analysis:
    """Decode, detect, check quality and describe the face(s) of one image.
    role: "document" or "selfie". Raises ApiError for unusable images."""
    import numpy as np
    models = _models()
    try:
        img, factor = decode(image.data)
    except DECODE_ERRORS + (PILImage.DecompressionBombError,):
        # A valid header over truncated or corrupt data fails only here, at the
        # full decode: 400 INVALID_IMAGE, as Rekognition answers (found by
        # tests/test_schemathesis.py; was a 500).
        raise errors.invalid_image(image.field) from None
    detections = _find_faces(models, np, img, role)
    if not detections:
        raise errors.no_face(image.field)
    counted = select_faces(detections)
    largest = counted[0]
    if role == "selfie":
        if len(counted) > 1 and not options.allow_multiple_faces:
            raise errors.too_many_faces(len(counted))
        candidates = counted[:MAX_SELFIE_CANDIDATES] if options.allow_multiple_faces else [largest]
    else:
        counted = [largest]
        candidates = [largest]
    min_sharpness = (DEFAULT_MIN_SHARPNESS if options.min_sharpness is None
                     else options.min_sharpness)
    arr = np.asarray(img)
    results: List[_FaceResult] = []
    for i, det in enumerate(candidates):
        size_px = max(det.width, det.height) * factor
        if size_px < options.min_face_px:
            if i == 0:
                raise errors.face_too_small(image.field)
            continue
        chip = _chip(models, np, arr, det)
        sharpness = _sharpness(np, chip)
        if sharpness < min_sharpness:
            if i == 0:
                raise errors.face_too_blurry(image.field)
            continue
        descriptor = np.asarray(models.encoder.compute_face_descriptor(chip))
        results.append(_FaceResult(_face(det, img.width, img.height), size_px,
                                   sharpness, descriptor))
    return _Analysis(results, len(counted))


class LocalEngine:
    """The offline engine (see the module docstring)."""

    name = "local"

    def __init__(self, options: EngineOptions) -> None:
        self.options = options

    def describe(self, selfie: Image) -> Tuple[Face, Tuple[float, ...]]:
        return describe(self, selfie)

    def compare(self, document: Image, selfie: Image) -> Comparison:
        pool = _executor()
        doc_future = pool.submit(analyse, document, "document", self.options)
        selfie_future = pool.submit(analyse, selfie, "selfie", self.options)
        # Wait for both, then report the document's problem first: the error
        # returned never depends on which worker finished first.
        # Anything else than an ApiError (a decoder or dlib failure) is an
        # engine failure: 502 ENGINE_ERROR, with no internal text.
        outcomes = []
        for future in (doc_future, selfie_future):
            try:
                outcomes.append(future.result())
            except errors.ApiError as exc:
                outcomes.append(exc)
            except Exception as exc:  # noqa: BLE001
                failure = errors.engine_failed()
                failure.__cause__ = exc
                outcomes.append(failure)
        for outcome in outcomes:
            if isinstance(outcome, errors.ApiError):
                raise outcome
        return _compare_analyses(outcomes[0], outcomes[1])


def _compare_analyses(doc: _Analysis, sel: _Analysis) -> Comparison:
    import numpy as np
    doc_face = doc.faces[0]
    best: Optional[Tuple[float, _FaceResult]] = None
    for cand in sel.faces:
        distance = float(np.linalg.norm(doc_face.descriptor - cand.descriptor))
        if best is None or distance < best[0]:
            best = (distance, cand)
    assert best is not None
    return Comparison(similarity=similarity_from_distance(best[0]),
                      document_face=doc_face.face, selfie_face=best[1].face,
                      faces_in_selfie=sel.counted,
                      selfie_descriptor=_as_tuple(best[1].descriptor))


# --- enrolment hooks (chalicelib/enrolment/, docs/enrolment.md) ---------------
# The enrolment store keeps descriptors tagged with MODEL_VERSION and never
# compares descriptors of another version. Change it whenever anything that
# moves a descriptor changes: the model files, the landmarks, the chip size or
# padding, the decoding.
MODEL_VERSION = "dlib-resnet-v1/5pt/chip150-0.25"


def _as_tuple(descriptor) -> Tuple[float, ...]:
    return tuple(float(x) for x in descriptor)


def describe(engine: "LocalEngine", selfie: Image) -> Tuple[Face, Tuple[float, ...]]:
    """The selfie's face and its 128-d descriptor (POST /search), with the
    same detection and quality rules as a verification's selfie."""
    try:
        analysis = _executor().submit(analyse, selfie, "selfie", engine.options).result()
    except errors.ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 -- as in compare: a dlib failure is ENGINE_ERROR
        raise errors.engine_failed() from exc
    return analysis.faces[0].face, _as_tuple(analysis.faces[0].descriptor)
