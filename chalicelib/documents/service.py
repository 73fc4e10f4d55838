"""Document reading inside a request: start it beside the face comparison,
collect it within a bounded time, and fold its checks into the decision.

The decision rule (IPS_DOCUMENT, docs/document-reading.md):
- off: nothing is read; `document` is absent and `reasons` is empty.
- read: the document is read and reported; `verified` and `decision`
  depend on the faces only, and `reasons` stays empty.
- enforce: each failed check caps the face decision (match > review > no_match):
  DOCUMENT_EXPIRED, UNDER_MINIMUM_AGE -> IPS_DOCUMENT_FAILED (no_match by default);
  DOCUMENT_CHECK_DIGITS, EXPECTED_DATA_MISMATCH -> review (misreads happen);
  DOCUMENT_UNREADABLE -> review, or nothing with IPS_DOCUMENT_UNREADABLE=ignore.
  `reasons` lists every one of them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, date, datetime
from typing import Any

from chalicelib import errors
from chalicelib.decision import MATCH, NO_MATCH, REVIEW
from chalicelib.documents import reader_for
from chalicelib.documents.base import FAILED, TIMEOUT, DocumentRead, DocumentResult
from chalicelib.documents.checks import Expected, run_checks
from chalicelib.engines.base import Image
from chalicelib.errors import ApiError
from chalicelib.logs import log_event
from chalicelib.settings import Settings

HARD = ("DOCUMENT_EXPIRED", "UNDER_MINIMUM_AGE")
_RANK = {NO_MATCH: 0, REVIEW: 1, MATCH: 2}
# Two workers: one read per concurrent request on a two-core machine; the
# local reader keeps one OCR session per worker thread.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ips-document")


def today() -> date:
    """The date checks are made against. Tests replace this function."""
    return datetime.now(UTC).date()


def parse_expected(payload: Mapping[str, Any]) -> Expected | None:
    """The optional `expected` object: what the person typed at sign-up."""
    value = payload.get("expected")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad_expected("an object with surname, given_names and date_of_birth")
    names: dict[str, str | None] = {}
    for key in ("surname", "given_names", "date_of_birth"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or len(item) > 200):
            raise _bad_expected(f"an object whose {key} is a string (at most 200 characters)")
        names[key] = item.strip() if item else None
    birth = None
    if names["date_of_birth"]:
        try:
            birth = date.fromisoformat(names["date_of_birth"])
        except ValueError:
            raise _bad_expected("an object whose date_of_birth is a date, YYYY-MM-DD") from None
    return Expected(names["surname"], names["given_names"], birth)


def _bad_expected(what: str) -> ApiError:
    return errors.invalid_field_type("expected", what)


def _read(image: Image, settings: Settings, day: date) -> DocumentRead:
    try:
        return reader_for(settings).read(image, day)
    except Exception as exc:  # a reader bug: read: false, never a failed verification
        log_event("document_reader_error", error=type(exc).__name__)
        return DocumentRead.unread(FAILED)


def start(image: Image, settings: Settings) -> Future[DocumentRead] | None:
    """Begin reading in the background; None when reading is off."""
    if settings.document_mode == "off":
        return None
    return _pool.submit(_read, image, settings, today())


def finish(
    pending: Future[DocumentRead] | None, settings: Settings, expected: Expected | None
) -> DocumentResult | None:
    """Wait for the read (at most IPS_DOCUMENT_TIMEOUT_S) and run the checks."""
    if pending is None:
        return None
    try:
        document = pending.result(timeout=settings.document_timeout_s)
    except FutureTimeout:
        pending.cancel()
        document = DocumentRead.unread(TIMEOUT)
    except Exception:
        document = DocumentRead.unread(FAILED)
    return run_checks(document, today(), settings.min_age, expected)


def read_now(image: Image, settings: Settings, expected: Expected | None) -> DocumentResult:
    """POST /documents: read one document, bounded in time like /ips."""
    if settings.document_mode == "off":
        return DocumentResult(DocumentRead.unread("disabled"))
    result = finish(start(image, settings), settings, expected)
    assert result is not None
    return result


def apply(
    face_decision: str, result: DocumentResult | None, settings: Settings
) -> tuple[str, list[str]]:
    """(decision, reasons) once the document's checks are folded in."""
    if result is None or settings.document_mode != "enforce":
        return face_decision, []
    reasons = result.failed_codes()
    if settings.document_unreadable == "ignore":
        reasons = [r for r in reasons if r != "DOCUMENT_UNREADABLE"]
    decision = face_decision
    for reason in reasons:
        cap = settings.document_failed if reason in HARD else REVIEW
        if _RANK[cap] < _RANK[decision]:
            decision = cap
    return decision, reasons


def elapsed_ms(start_time: float) -> float:
    return round((time.perf_counter() - start_time) * 1000, 1)


def read_request(
    raw_body: bytes, content_type: str | None, settings: Settings, request_id: str
) -> dict[str, Any]:
    """POST /documents: {"dl": base64, "expected"?: {...}} -> {"document": ..., "request_id"}.
    The same decoding, image checks and errors as POST /ips."""
    from chalicelib.image_checks import check_image
    from chalicelib.image_normalise import normalise
    from chalicelib.request_decoding import decode_image_field, load_payload

    started = time.perf_counter()
    log: dict[str, Any] = {
        "request_id": request_id,
        "stage": settings.stage,
        "body_bytes": len(raw_body),
    }
    try:
        payload = load_payload(raw_body, content_type)
        image = normalise(check_image(decode_image_field(payload, "dl"), "dl"))
        expected = parse_expected(payload)
    except ApiError as error:
        log_event(
            "document_request",
            **log,
            status=error.status,
            code=error.code,
            field=error.field,
            total_ms=elapsed_ms(started),
        )
        raise
    from chalicelib import admission

    with admission.slot("documents"):  # OCR is compute-heavy too: bounded, 503 beyond
        result = read_now(image, settings, expected)
    log_event(
        "document_request", **log, status=200, **result.log_fields(), total_ms=elapsed_ms(started)
    )
    return {"document": result.to_json(), "request_id": request_id}
