"""Face detection: YuNet first, its box made the shape dlib's landmarks
expect; dlib's HOG detector when YuNet finds nothing; which faces count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

from chalicelib.faces.local.runtime import SAME_FACE_IOU, Models

# --- detection: YuNet
# YuNet runs on a copy whose long side is at most this. It finds faces down to
# ~20 px there: a selfie's face and any face a third as wide, and the ~94 px
# portrait of a 1000 px card at full size.
DETECT_SIDE = {"selfie": 640, "document": 1024}
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
# Faces compared per selfie in allow_multiple_faces mode (largest first).
MAX_SELFIE_CANDIDATES = 5


def confidence_from_hog_score(score: float) -> float:
    """Detector confidence 0-100 from the HOG detector's SVM score.

    The detector reports faces whose score is above 0; 0 is its decision
    boundary, so it maps to 50, and the logistic 100/(1+exp(-3*score)) puts a
    typical clear frontal face (score 1.5-2.5) at 99-99.9."""
    return 100.0 / (1.0 + math.exp(-3.0 * max(-50.0, min(50.0, score))))


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


def scaled(img: PILImage.Image, scale: float) -> np.ndarray:
    if scale == 1.0:
        return np.asarray(img)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return np.asarray(img.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0))


def yunet_faces(models: Models, img: PILImage.Image, role: str) -> list[Detection]:
    scale = min(1.0, DETECT_SIDE[role] / max(img.size))
    bgr = np.ascontiguousarray(scaled(img, scale)[:, :, ::-1])
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


def hog_pass(models: Models, img: PILImage.Image, scale: float) -> list[Detection]:
    """HOG detection at `scale` of the decoded image (>1: dlib upsamples x2)."""
    if scale > 1.0:
        # dlib upsamples x2 itself and reports boxes in the input's pixels
        arr, upsample, s = np.asarray(img), 1, 1.0
    else:
        arr, upsample, s = scaled(img, scale), 0, scale
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


def _hog_faces(models: Models, img: PILImage.Image, role: str) -> list[Detection]:
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
        found = hog_pass(models, img, scale)
        used = scale
        if found:
            break
    if found and role == "selfie":
        # A face MULTI_FACE_RATIO as wide as the largest must be searched at a
        # scale where it is at least HOG_MIN_BOX px; search again if not.
        needed = HOG_MIN_BOX * 1.1 / (MULTI_FACE_RATIO * select_faces(found)[0].width)
        if needed > used and used < 1.0:
            found = _merge(found, hog_pass(models, img, min(1.0, needed)))
    return found


def find_faces(
    models: Models, img: PILImage.Image, role: str, detector: str = "yunet"
) -> list[Detection]:
    """Faces in the decoded image, largest first; empty if none.
    detector "hog": HOG only (the engine before issue 8, for the benchmark)."""
    found = yunet_faces(models, img, role) if detector == "yunet" else []
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
