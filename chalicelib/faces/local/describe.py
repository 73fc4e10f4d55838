"""One face: the engine's decode, the aligned 150x150 chip, its sharpness
(the blur gate), the 128-d dlib descriptor, the box as the API reports it."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps

from chalicelib.faces.base import Face
from chalicelib.faces.local.detect import Detection
from chalicelib.faces.local.runtime import Models
from chalicelib.imaging.normalise import flatten_alpha, has_alpha

# --- decoding -------------------------------------------------------------
# JPEGs larger than this on their long side are decoded with DCT scaling
# (1/2, 1/4, 1/8) to no less than this: a 12 MP selfie decodes at 2000x1500,
# where any face worth comparing is still far larger than the 150 px chip.
DECODE_MIN_SIDE = 1600

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

CHIP_SIZE = 150
CHIP_PADDING = 0.25


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


def chip(models: Models, arr: np.ndarray, det: Detection) -> np.ndarray:
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
    aligned: np.ndarray = dlib.get_face_chip(crop, shape, CHIP_SIZE, CHIP_PADDING)
    return aligned


def descriptor(models: Models, chip: np.ndarray) -> np.ndarray:
    descriptor: np.ndarray = np.asarray(models.encoder.compute_face_descriptor(chip))
    return descriptor


def api_face(det: Detection, width: int, height: int) -> Face:
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
