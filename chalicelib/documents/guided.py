"""Guided reading: OCR only where the fields can be, once the portrait has
said which way is up (chalicelib.documents.portrait).

1. The MRZ: `mrz_zone` finds its rows below the portrait without OCR; text
   is detected on that strip alone and its 2-3 lines are recognised (an
   MRZ-like strip that does not read ends the guided read: no licence has one).
   Only a zone whose check digits all hold is taken from the strip: a failed
   digit may be a row the strip cut or merged, so the whole page decides.
2. No MRZ: a licence's labelled fields, beside the portrait. Lines are
   recognised top to bottom and reading stops as soon as surname, given
   names, number, birth and expiry dates are all there (never complete: the
   whole page decides).
3. Neither: `None`, and the caller reads the whole (upright) page.

Lines are recognised at their own width (rapidocr pads every crop to at
least 320 px: a 70 px label then costs as much as a long line)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from chalicelib.documents.base import DocumentRead
from chalicelib.documents.fields import TextBox, from_mrz, read_text
from chalicelib.documents.mrz import read_mrz
from chalicelib.documents.mrz_zone import find_mrz_rows
from chalicelib.documents.portrait import Portrait, fields_band, mrz_band

REC_HEIGHT = 48  # the recognition model's input height
MIN_REGION_PX = 48  # text detection needs at least this many rows and columns
_MIN_LINE_PX = 7  # detected boxes thinner than this are specks
# What a licence read needs before reading stops early.
_LICENCE_FIELDS = ("surname", "given_names", "document_number", "date_of_birth", "expiry_date")


class Ocr:
    """The two steps of one thread's RapidOCR instance, called directly."""

    def __init__(self, engine: Any, det_side: int) -> None:
        self.detector = engine._load_det_model()
        self.recogniser = engine._load_rec_model()
        self.det_side = det_side

    def detect(
        self, page: np.ndarray, region: tuple[int, int, int, int], scale: float
    ) -> list[Any]:
        """Text boxes (4x2 points, page pixels) inside region (l, t, r, b),
        detected at `scale` of the page."""
        import cv2

        left, top, right, bottom = region
        crop = page[top:bottom, left:right]
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = self.detector(np.ascontiguousarray(crop))
        if found.boxes is None:
            return []
        points = [np.asarray(p, dtype=np.float32) / scale + (left, top) for p in found.boxes]
        return [p for p in points if _min_side(p) >= _MIN_LINE_PX]

    def recognise(self, page: np.ndarray, points: Any) -> str:
        """One line's text, its crop resized to the model's height and its own width."""
        import cv2
        from rapidocr.utils.process_img import get_rotate_crop_image

        crop = get_rotate_crop_image(page, np.asarray(points, dtype=np.float32).copy())
        h, w = crop.shape[:2]
        if h < 2 or w < 2:
            return ""
        ratio = w / h
        width = max(16, math.ceil(REC_HEIGHT * ratio))
        resized = cv2.resize(crop, (width, REC_HEIGHT)).astype(np.float32)
        batch = ((resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5)[np.newaxis]
        preds = self.recogniser.session(batch.astype(np.float32))
        lines, _ = self.recogniser.postprocess_op(
            preds, False, wh_ratio_list=[ratio], max_wh_ratio=ratio
        )
        return str(lines[0][0]) if lines else ""


def _min_side(points: np.ndarray) -> float:
    xs, ys = points[:, 0], points[:, 1]
    return float(min(xs.max() - xs.min(), ys.max() - ys.min()))


def _box(points: np.ndarray, text: str = "") -> TextBox:
    xs, ys = points[:, 0], points[:, 1]
    return TextBox(text, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def _grown(region: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """The region, grown to at least MIN_REGION_PX / scale on each side."""
    left, top, right, bottom = region
    if bottom - top < MIN_REGION_PX:
        pad = (MIN_REGION_PX - (bottom - top)) // 2 + 1
        top, bottom = max(0, top - pad), min(height, bottom + pad)
    if right - left < MIN_REGION_PX:
        pad = (MIN_REGION_PX - (right - left)) // 2 + 1
        left, right = max(0, left - pad), min(width, right + pad)
    return left, top, right, bottom


def read_guided(
    ocr: Ocr,
    page: np.ndarray,
    portrait: Portrait,
    today: date,
    mrz_rows: Any,
) -> DocumentRead | None:
    """The document read from the bands the portrait points to, or None.
    `mrz_rows(boxes, width, height)` groups detected boxes into MRZ rows
    (chalicelib.documents.local's rule, shared with the whole-page read)."""
    height, width = page.shape[:2]
    scale = min(1.0, ocr.det_side / max(height, width))
    band_top, band_bottom = mrz_band(portrait, height)
    zone = find_mrz_rows(page[band_top:band_bottom])
    if zone is not None:
        region = _grown(
            (0, band_top + zone[0], width, band_top + zone[1]), width, int(height * scale)
        )
        boxes = [(p, _box(p, ocr.recognise(page, p))) for p in ocr.detect(page, region, scale)]
        texts = {id(p): b.text for p, b in boxes}
        rows = mrz_rows(boxes, width, height)
        found = read_mrz(["".join(texts[id(p)] for p, _ in row) for row in rows], today)
        if found is not None and found.check_digits_ok:
            return from_mrz(found)
        # Rows merged or split by a skewed page: each line on its own, kept
        # only when every check digit holds (else the whole page decides).
        result = read_text([b for _, b in boxes], today)
        return result if result.read and result.check_digits is True else None
    return _read_fields(ocr, page, portrait, scale, today)


def _read_fields(
    ocr: Ocr, page: np.ndarray, portrait: Portrait, scale: float, today: date
) -> DocumentRead | None:
    height, width = page.shape[:2]
    region = fields_band(portrait, width, height)
    if region[2] - region[0] < MIN_REGION_PX or region[3] - region[1] < MIN_REGION_PX:
        return None
    points = ocr.detect(page, region, scale)
    ordered = sorted(points, key=lambda p: (float(p[:, 1].min()), float(p[:, 0].min())))
    read: list[TextBox] = []
    result = None
    for p in ordered:
        read.append(_box(p, ocr.recognise(page, p)))
        result = read_text(read, today)
        if result.read and _complete(result, read):
            return result
    return None  # incomplete: the whole page decides


def _complete(result: DocumentRead, boxes: Sequence[TextBox]) -> bool:
    """Every field a licence gives is there (an MRZ read is complete as read)."""
    if result.source == "mrz":
        return True
    fields = result.fields
    return all(getattr(fields, name) is not None for name in _LICENCE_FIELDS)
