"""Document reading inside a request, bounded in time: start it beside the
face comparison, collect it within IPS_DOCUMENT_TIMEOUT_S, and run the checks
(chalicelib.documents.checks). The decision rule is chalicelib.decision."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date

from chalicelib.config.settings import DocumentSettings
from chalicelib.core.logs import log_event
from chalicelib.documents.base import FAILED, TIMEOUT, DocumentRead, DocumentReader, DocumentResult
from chalicelib.documents.checks import Expected, run_checks
from chalicelib.imaging.image import Image

# Two workers: one read per concurrent request on a two-core machine; the
# local reader keeps one OCR session per worker thread. Threads start on
# first use, not at import.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ips-document")


class Reading:
    """One request's read of its document: started at once, collected later."""

    def __init__(
        self,
        reader: Callable[[], DocumentReader],
        image: Image,
        settings: DocumentSettings,
        today: date,
    ) -> None:
        self._settings = settings
        self._today = today
        self._pending: Future[DocumentRead] | None = None
        if settings.mode != "off":
            self._pending = _pool.submit(_read, reader, image, today)

    def cancel(self) -> None:
        """Stop a read that has not started yet (a failed request)."""
        if self._pending is not None:
            self._pending.cancel()

    def finish(self, expected: Expected | None) -> DocumentResult | None:
        """Wait for the read (at most timeout_s) and run the checks; None when
        reading is off."""
        if self._pending is None:
            return None
        try:
            document = self._pending.result(timeout=self._settings.timeout_s)
        except FutureTimeout:
            self._pending.cancel()
            document = DocumentRead.unread(TIMEOUT)
        except Exception:
            document = DocumentRead.unread(FAILED)
        return run_checks(document, self._today, self._settings.min_age, expected)


def _read(reader: Callable[[], DocumentReader], image: Image, day: date) -> DocumentRead:
    try:
        return reader().read(image, day)
    except Exception as exc:  # a reader bug: read: false, never a failed verification
        log_event("document_reader_error", error=type(exc).__name__)
        return DocumentRead.unread(FAILED)


def read_now(
    reader: Callable[[], DocumentReader],
    image: Image,
    settings: DocumentSettings,
    today: date,
    expected: Expected | None,
) -> DocumentResult:
    """POST /documents: read one document, bounded in time like /ips."""
    if settings.mode == "off":
        return DocumentResult(DocumentRead.unread("disabled"))
    result = Reading(reader, image, settings, today).finish(expected)
    assert result is not None
    return result
