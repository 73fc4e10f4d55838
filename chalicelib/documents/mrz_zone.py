"""Where the MRZ lines are, found without OCR: two or three rows of dense
dark characters that span most of the page's width. Morphology on a small
grey copy (a few ms) tells the reader whether a page has an MRZ at all and
which rows to run text detection on (docs/document-reading.md)."""

from __future__ import annotations

import numpy as np

# The zone is looked for on a copy this wide.
WORK_WIDTH = 400
# An MRZ line spans at least this share of the band's width (ICAO: the zone
# runs across the whole document, less the margins) ...
MIN_SPAN = 0.55
# ... and at least this many times as wide as it is high (one line of 30-44
# characters is 9-15 times; two or three lines the closing merges, 3.8-6).
MIN_ASPECT = 3.5


def find_mrz_rows(bgr: np.ndarray) -> tuple[int, int] | None:
    """(top, bottom) pixel rows of `bgr` that hold the MRZ lines, with half a
    line's margin, or None when no long dense text line is found."""
    import cv2

    height, width = bgr.shape[:2]
    if width < 40 or height < 10:
        return None
    scale = WORK_WIDTH / width
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(
        grey, (WORK_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    # Dark characters on a light background, then joined along the line.
    blackhat = cv2.morphologyEx(
        grey, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (13, 5))
    )
    gradient = np.absolute(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=-1))
    peak = float(gradient.max())
    if peak <= 0:
        return None
    gradient = (255 * gradient / peak).astype(np.uint8)
    joined = cv2.morphologyEx(
        gradient, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (21, 3))
    )
    _, mask = cv2.threshold(joined, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours:
        _, y, w, h = cv2.boundingRect(contour)
        if w >= MIN_SPAN * WORK_WIDTH and w >= MIN_ASPECT * max(h, 1):
            lines.append((y, y + h))
    if not lines:
        return None
    top, bottom = min(t for t, _ in lines), max(b for _, b in lines)
    margin = max(b - t for t, b in lines) / 2
    return max(0, int((top - margin) / scale)), min(height, int((bottom + margin) / scale) + 1)
