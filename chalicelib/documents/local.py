"""The offline document reader (local stage): RapidOCR's PP-OCR models on
onnxruntime. The ONNX files ship inside the rapidocr wheel and are passed by
path, so nothing is ever downloaded.

Speed on two shared cores (docs/document-reading.md has the figures):
- text is *detected* on a copy whose longest side is DET_SIDE px; the lines
  are then *recognised* from crops of the full-resolution image;
- the long lines that can be an MRZ are recognised first, and when they
  parse nothing else is: most documents cost one detection and 2-3 lines;
- the angle classifier runs only when nothing else read;
- one RapidOCR (two onnxruntime sessions) per worker thread, each with
  IPS_OCR_THREADS intra-op threads (default 1), so OCR and the face engine
  share the two cores instead of oversubscribing them.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from chalicelib.core.logs import log_event
from chalicelib.documents.base import FAILED, DocumentRead
from chalicelib.documents.fields import TextBox, from_mrz, read_text
from chalicelib.documents.guided import Ocr, read_guided
from chalicelib.documents.mrz import read_mrz
from chalicelib.documents.portrait import find_portrait, upright
from chalicelib.imaging.image import Image

# Detection input, longest side (rapidocr's default: shortest side 736).
DET_SIDE = int(os.environ.get("IPS_OCR_DET_SIDE", "640"))
MAX_SIDE = 2000  # crops come from the image downscaled to at most this
_MIN_LINE_PX = 7  # boxes lower than this are specks, not text
# An MRZ line (30-44 OCR-B characters) is 18-30 times as long as it is high;
# a title line ("IDENTITY CARD") is under 12.
MRZ_ASPECT = 13


def _model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


def _new_engine(threads: int) -> Any:
    from rapidocr import RapidOCR

    models = _model_dir()
    params = {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
        "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        "Det.limit_type": "max",
        "Det.limit_side_len": DET_SIDE,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    return RapidOCR(params=params)


def _box(points: Any, text: str = "") -> TextBox:
    xs, ys = points[:, 0], points[:, 1]
    return TextBox(text, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def _crop(image: np.ndarray, points: Any) -> np.ndarray:
    from rapidocr.utils.process_img import get_rotate_crop_image

    return get_rotate_crop_image(image, points.astype(np.float32).copy())


class LocalReader:
    name = "local-ocr"

    def __init__(self, threads: int | None = None, guided: bool = True) -> None:
        self.threads = threads or int(os.environ.get("IPS_OCR_THREADS", "1"))
        # guided=False: the whole-page pipeline alone (the benchmark's baseline).
        self.guided = guided
        self._local = threading.local()

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = _new_engine(self.threads)
        return engine

    def read(self, image: Image, today: date) -> DocumentRead:
        start = time.perf_counter()
        try:
            result = self.read_array(_decode(image.data), today)
        except Exception as exc:  # an OCR failure never fails the verification
            log_event("document_reader_error", reader=self.name, error=type(exc).__name__)
            return DocumentRead.unread(FAILED)
        log_event(
            "document_ocr",
            reader=self.name,
            read=result.read,
            source=result.source,
            ms=round((time.perf_counter() - start) * 1000, 1),
        )
        return result

    def _ocr(self) -> Ocr:
        ocr = getattr(self._local, "ocr", None)
        if ocr is None:
            ocr = self._local.ocr = Ocr(self._engine(), DET_SIDE)
        return ocr

    def read_array(self, pixels: np.ndarray, today: date) -> DocumentRead:
        portrait = find_portrait(pixels) if self.guided else None
        if portrait is not None:
            # The portrait says which way is up: read where the fields can be,
            # then the whole page in that orientation, before any guessing.
            page = upright(pixels, portrait)
            guided = read_guided(self._ocr(), page, portrait, today, _mrz_rows)
            if guided is not None:
                return guided
            if portrait.turns:  # turned: the whole page in the portrait's orientation
                turned = np.ascontiguousarray(np.rot90(pixels, portrait.turns))
                result = self._read_upright(turned, today, use_cls=False)
                if result.read:
                    return result
        return self._read_unguided(pixels, today)

    def _read_unguided(self, pixels: np.ndarray, today: date) -> DocumentRead:
        """The whole page, upright first, then trying other orientations."""
        result = self._read_upright(pixels, today, use_cls=False)
        if result.read:
            return result
        # Nothing read: try the angle classifier (upside-down lines), then
        # the image turned a quarter either way (an MRZ photographed sideways).
        result = self._read_upright(pixels, today, use_cls=True)
        for turns in (1, 3):
            if result.read:
                break
            result = self._read_upright(
                np.ascontiguousarray(np.rot90(pixels, turns)), today, use_cls=False
            )
        return result

    def _read_upright(self, pixels: np.ndarray, today: date, use_cls: bool) -> DocumentRead:
        engine = self._engine()
        detected = engine(pixels, use_det=True, use_cls=False, use_rec=False)
        points = [] if detected.boxes is None else list(detected.boxes)
        boxes = [
            (p, _box(p))
            for p in points
            if min(_box(p).height, _box(p).right - _box(p).left) >= _MIN_LINE_PX
        ]
        if not use_cls:
            # An MRZ line is long and thin, possibly cut into pieces (by a
            # drawn box, a gap): recognise those rows alone first.
            rows = _mrz_rows(boxes, pixels.shape[1], pixels.shape[0])
            if rows:
                flat = [p for row in rows for p, _ in row]
                read = iter(self._recognise(engine, pixels, flat, use_cls))
                # In _mrz_rows' order: upright lines read right to left.
                mrz = read_mrz(["".join(next(read) for _ in row) for row in rows], today)
                if mrz is not None:
                    return from_mrz(mrz)
        texts = self._recognise(engine, pixels, [p for p, _ in boxes], use_cls)
        return read_text(_with_text(boxes, texts), today)

    @staticmethod
    def _recognise(
        engine: Any,
        pixels: np.ndarray,
        points: Sequence[Any],
        use_cls: bool,
    ) -> list[str]:
        """Recognise lines one by one: with one intra-op thread this measured
        faster than rapidocr's padded batches (docs/document-reading.md)."""
        texts = []
        for p in points:
            out = engine(_crop(pixels, p), use_det=False, use_cls=use_cls, use_rec=True)
            txts = getattr(out, "txts", None)
            texts.append(str(txts[0]) if txts else "")
        return texts


def _thickness(points: Any) -> float:
    """A detected box's height along its own tilt (not the axis-aligned one,
    which grows with rotation)."""
    p = np.asarray(points, dtype=np.float32)
    return float(min(np.linalg.norm(p[1] - p[2]), np.linalg.norm(p[0] - p[1])))


def _extent(row: Sequence[Any]) -> tuple[float, float, float, float]:
    return (
        min(b.left for _, b in row),
        min(b.top for _, b in row),
        max(b.right for _, b in row),
        max(b.bottom for _, b in row),
    )


def _mrz_rows(boxes: Sequence[Any], width: int, height: int) -> list[list[Any]]:
    """Rows of boxes (same text line: vertical overlap) that are long and thin
    enough to be an MRZ line, top to bottom, each row left to right. Lines
    standing upright (a page photographed sideways, turned by the crop) are
    taken right to left, the order they read in once turned."""
    horizontal = [(p, b) for p, b in boxes if (b.right - b.left) >= b.height]
    vertical = [(p, b) for p, b in boxes if (b.right - b.left) < b.height]
    rows: list[list[Any]] = []
    for p, b in sorted(horizontal, key=lambda item: (item[1].top + item[1].bottom) / 2):
        centre = (b.top + b.bottom) / 2
        if rows:
            last = rows[-1]
            top, bottom = min(x.top for _, x in last), max(x.bottom for _, x in last)
            if top <= centre <= bottom and abs(b.height - (bottom - top)) < 0.6 * (bottom - top):
                last.append((p, b))
                continue
        rows.append([(p, b)])
    found = []
    for row in rows:
        row.sort(key=lambda item: item[1].left)
        left, _, right, _ = _extent(row)
        thickness = max(_thickness(p) for p, _ in row)
        if right - left >= MRZ_ASPECT * thickness and right - left >= 0.4 * width:
            found.append(row)
    upright = [
        [(p, b)]
        for p, b in sorted(vertical, key=lambda item: -item[1].left)
        if b.height >= MRZ_ASPECT * _thickness(p) and b.height >= 0.4 * height
    ]
    return found + upright


def _with_text(boxes: Sequence[Any], texts: Sequence[str]) -> list[TextBox]:
    return [
        TextBox(t, b.left, b.top, b.right, b.bottom) for (_, b), t in zip(boxes, texts, strict=True)
    ]


def _decode(data: bytes) -> np.ndarray:
    """Bytes (already checked and normalised upstream) to a BGR array, no
    larger than MAX_SIDE: more pixels than that add time, not accuracy."""
    with PILImage.open(io.BytesIO(data)) as opened:
        picture = opened.convert("RGB")
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.ascontiguousarray(np.asarray(picture)[:, :, ::-1])
