"""Where a document's portrait is and which way is up: the face detector
(YuNet, the face engine's own model file) tells the reader how to turn the
page and where the MRZ and the labelled fields can be, so the OCR detects
text in two small bands instead of the whole page, in one orientation
instead of four (docs/document-reading.md, "Guided reading").

All geometry here is pure (numbers in, numbers out); only `find_portrait`
runs a model."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

# YuNet runs on a copy whose long side is at most this: a card's portrait is
# a quarter to a third of the card's height, far above YuNet's ~20 px floor.
DETECT_SIDE = 480
# A detection is the portrait from this score up (the face engine's "sure").
SURE_SCORE = 0.85
# Quarter turns tried, in the order pages arrive: upright, then sideways
# either way, then upside down. np.rot90(pixels, k) turns k x 90° anticlockwise.
TURNS = (0, 3, 1, 2)
# Eye line tilts beyond this are turned level before OCR (smaller ones the
# text detector and the tilt-tolerant row grouping absorb).
LEVEL_FROM_DEG = 1.5


@dataclass(frozen=True)
class Portrait:
    """The document's face, in the pixels of the page turned upright by
    `turns` quarter turns (np.rot90) and levelled by `tilt_deg`."""

    turns: int
    tilt_deg: float  # eye line's angle in the turned page, degrees (positive: clockwise)
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left


def tilt_from_eyes(right_eye: tuple[float, float], left_eye: tuple[float, float]) -> float:
    """The eye line's angle in degrees (image y down: positive = clockwise).
    YuNet's first point is the subject's right eye (the one on the image's left)."""
    dx, dy = left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]
    return math.degrees(math.atan2(dy, dx))


def mrz_band(portrait: Portrait, height: int) -> tuple[int, int]:
    """Rows (top, bottom) where an MRZ can be: below the portrait's face.
    On ICAO TD1/TD2/TD3 data pages and cards the zone is the bottom of the
    page, under the photo; the face box is the face, not the photo frame, so
    the band starts a quarter of a face above the chin."""
    top = portrait.top + 0.75 * portrait.height
    return max(0, int(top)), height


def fields_band(portrait: Portrait, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) where a licence's labelled fields can be:
    right of the portrait, from above the face's top to well below its chin
    (AAMVA card design: the fields column beside the photo)."""
    left = portrait.right + 0.2 * portrait.width
    top = portrait.top - 1.0 * portrait.height
    bottom = portrait.bottom + 1.9 * portrait.height
    return max(0, int(left)), max(0, int(top)), width, min(height, int(bottom))


_local = threading.local()


def _detector() -> Any:
    detector = getattr(_local, "yunet", None)
    if detector is None:
        import cv2

        from chalicelib.faces.local.runtime import YUNET_FILE, YUNET_SHA256, model_path

        detector = _local.yunet = cv2.FaceDetectorYN.create(
            model_path(YUNET_FILE, YUNET_SHA256), "", (320, 320), 0.5, 0.3, 20
        )
    return detector


def _largest_sure(bgr: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(scale, the largest sure detection's row) on a downscaled copy."""
    import cv2

    scale = min(1.0, DETECT_SIDE / max(bgr.shape[:2]))
    small = bgr if scale == 1.0 else cv2.resize(bgr, None, fx=scale, fy=scale)
    small = np.ascontiguousarray(small)
    detector = _detector()
    detector.setInputSize((small.shape[1], small.shape[0]))
    _, found = detector.detect(small)
    sure = [row for row in ([] if found is None else found) if row[14] >= SURE_SCORE]
    if not sure:
        return None
    return scale, max(sure, key=lambda row: row[2] * row[3])


def find_portrait(bgr: np.ndarray) -> Portrait | None:
    """The page's portrait in the first quarter turn where the detector is
    sure of a face; None when no turn shows one (the reader then reads the
    whole page, trying orientations as before)."""
    for turns in TURNS:
        turned = bgr if turns == 0 else np.rot90(bgr, turns)
        hit = _largest_sure(turned)
        if hit is None:
            continue
        scale, row = hit
        x, y, w, h = (float(v) / scale for v in row[:4])
        points = [float(v) / scale for v in row[4:8]]
        tilt = tilt_from_eyes((points[0], points[1]), (points[2], points[3]))
        return Portrait(turns, tilt, x, y, x + w, y + h)
    return None


def upright(bgr: np.ndarray, portrait: Portrait) -> np.ndarray:
    """The page turned and levelled so that the portrait stands upright.
    Levelling rotates about the face's centre, so the portrait's box stays put."""
    import cv2

    turned = bgr if portrait.turns == 0 else np.rot90(bgr, portrait.turns)
    turned = np.ascontiguousarray(turned)
    if abs(portrait.tilt_deg) < LEVEL_FROM_DEG:
        return turned
    centre = ((portrait.left + portrait.right) / 2, (portrait.top + portrait.bottom) / 2)
    matrix = cv2.getRotationMatrix2D(centre, portrait.tilt_deg, 1.0)
    levelled: np.ndarray = cv2.warpAffine(
        turned,
        matrix,
        (turned.shape[1], turned.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return levelled
