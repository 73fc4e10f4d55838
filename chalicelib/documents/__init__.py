"""Picks the stage's document reader, once per process: the offline OCR on
the local engine, Textract AnalyzeID on the cloud stages. Reader modules are
imported only when used, so the cloud stages never load numpy, onnxruntime
or rapidocr (none of which is in the Lambda package)."""
from __future__ import annotations

import threading
from datetime import date
from typing import TYPE_CHECKING, Dict

from chalicelib.documents.base import UNAVAILABLE, DocumentRead, DocumentReader
from chalicelib.engine import Image

if TYPE_CHECKING:
    from chalicelib.settings import Settings

_readers: Dict[str, DocumentReader] = {}
_lock = threading.Lock()


class UnavailableReader:
    """A deployment without the offline OCR installed: never reads."""
    name = "unavailable"

    def read(self, image: Image, today: date) -> DocumentRead:
        return DocumentRead.unread(UNAVAILABLE)


def _create(engine: str) -> DocumentReader:
    if engine == "local":
        try:
            import onnxruntime  # noqa: F401
            import rapidocr  # noqa: F401
        except ImportError:
            return UnavailableReader()
        from chalicelib.documents.local import LocalReader
        return LocalReader()
    from chalicelib.documents.textract import TextractReader
    return TextractReader()


def reader_for(settings: "Settings") -> DocumentReader:
    """The stage's reader: offline OCR where the face engine is the offline
    one (the local stage), Textract everywhere else."""
    kind = "local" if settings.engine == "local" else "cloud"
    reader = _readers.get(kind)
    if reader is None:
        with _lock:
            reader = _readers.get(kind)
            if reader is None:
                reader = _readers[kind] = _create(kind)
    return reader
