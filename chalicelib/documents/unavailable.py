"""The reader of a deployment without the offline OCR installed."""

from __future__ import annotations

from datetime import date

from chalicelib.documents.base import UNAVAILABLE, DocumentRead
from chalicelib.imaging.image import Image


class UnavailableReader:
    """Never reads: every document is `read: false, reason: reader_unavailable`."""

    name = "unavailable"

    def read(self, image: Image, today: date) -> DocumentRead:
        return DocumentRead.unread(UNAVAILABLE)
