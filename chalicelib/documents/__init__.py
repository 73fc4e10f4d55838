"""Document readers: what the identity document says, and whether it holds.

One interface (``base.DocumentReader``), two implementations picked per stage:

- ``textract``: Amazon Textract AnalyzeID, plus the MRZ parser over the text
  it returns (cloud stages);
- ``local``: RapidOCR's PP-OCR models on onnxruntime, offline (the local stage).

``reader_for(settings)`` returns the stage's reader. Each implementation is
imported only when used: the cloud stages never load numpy, onnxruntime or
rapidocr (none of which is in the Lambda package)."""

from __future__ import annotations

import importlib.util
from datetime import date
from typing import TYPE_CHECKING

from chalicelib.documents.base import UNAVAILABLE, DocumentRead, DocumentReader
from chalicelib.engines.base import Image
from chalicelib.once import PerProcess

if TYPE_CHECKING:
    from chalicelib.settings import Settings

_local: PerProcess[DocumentReader] = PerProcess()


class UnavailableReader:
    """A deployment without the offline OCR installed: never reads."""

    name = "unavailable"

    def read(self, image: Image, today: date) -> DocumentRead:
        return DocumentRead.unread(UNAVAILABLE)


def reader_for(settings: Settings) -> DocumentReader:
    """Offline OCR where the face engine is the offline one (the local
    stage), Textract everywhere else."""
    if settings.engine != "local":
        from chalicelib import aws
        from chalicelib.documents.textract import TextractReader

        # Cheap to build: the client it wraps is the process's one (chalicelib.aws).
        return TextractReader(client=aws.client("textract"))
    return _local.get("ocr", _local_reader)


def _local_reader() -> DocumentReader:
    if not all(importlib.util.find_spec(name) for name in ("onnxruntime", "rapidocr")):
        return UnavailableReader()  # a deployment without requirements-local.txt
    from chalicelib.documents.local import LocalReader

    return LocalReader()
