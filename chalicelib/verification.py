"""One verification, from the raw request body to the response body:
decode, check and normalise both images (chalicelib.images), compare on the
stage's engine, decide, log."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import admission, errors
from chalicelib.decision import MATCH, decide
from chalicelib.documents import service as documents
from chalicelib.engines import engine_for
from chalicelib.engines.base import Comparison, Image
from chalicelib.errors import ApiError
from chalicelib.image_checks import check_image
from chalicelib.image_normalise import normalise
from chalicelib.logs import frames, log_event
from chalicelib.request_decoding import FIELDS, decode_image_field, load_payload
from chalicelib.settings import Settings


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True)
class Verification:
    """A verification's response body and what enrolment reuses from it."""

    body: dict[str, Any]
    comparison: Comparison
    selfie: Image  # normalised, as the engine saw it


def verify(
    raw_body: bytes, content_type: str | None, settings: Settings, request_id: str
) -> dict[str, Any]:
    """Return the 200 response body, or raise ApiError. Logs one line either way."""
    return run_verification(raw_body, content_type, settings, request_id).body


def run_verification(
    raw_body: bytes,
    content_type: str | None,
    settings: Settings,
    request_id: str,
    check_payload: Callable[[dict[str, Any]], None] | None = None,
) -> Verification:
    """verify(), for callers that need more than the body: POST /enrolments
    checks its own fields with `check_payload` and reuses the selfie."""
    start = time.perf_counter()
    log: dict[str, Any] = {
        "request_id": request_id,
        "stage": settings.stage,
        "engine": settings.engine,
        "body_bytes": len(raw_body),
    }
    reading = None
    try:
        payload = load_payload(raw_body, content_type)
        if check_payload is not None:
            check_payload(payload)  # a route's own fields, before any image is decoded
        images = {field: decode_image_field(payload, field) for field in FIELDS}
        expected = documents.parse_expected(payload)
        log.update(dl_bytes=len(images["dl"]), selfie_bytes=len(images["selfie"]))
        # Both checked (cheap, header only) before either is converted: the
        # same steps as chalicelib.images.prepare, split to keep that order.
        document = check_image(images["dl"], "dl")
        selfie = check_image(images["selfie"], "selfie")
        # Bad input is answered at once; only the costly part waits for a turn
        # (chalicelib/admission.py: bounded, 503 ENGINE_BUSY beyond the bound).
        wait_start = time.perf_counter()
        with admission.slot("verification"):
            log["wait_ms"] = _ms(wait_start)
            document, selfie = normalise(document), normalise(selfie)
            log.update(
                dl_reencoded=document.data is not images["dl"],
                selfie_reencoded=selfie.data is not images["selfie"],
            )
            engine = engine_for(settings.engine, settings.engine_options)
            engine_start = time.perf_counter()
            reading = documents.start(document, settings)  # in parallel, never after
            comparison = engine.compare(document, selfie)
            log["engine_ms"] = _ms(engine_start)
            read = documents.finish(reading, settings, expected)
            log["document_ms"] = _ms(engine_start)
    except ApiError as error:
        if reading is not None:
            reading.cancel()  # only stops a read that has not started yet
        if error.__cause__ is not None and error.status >= 500:
            log_failure("engine_error", error.__cause__, request_id)
        log_event(
            "verification",
            **log,
            status=error.status,
            code=str(error.code),
            field=error.field,
            total_ms=_ms(start),
        )
        raise
    similarity = round(comparison.similarity, 2)
    decision, reasons = documents.apply(
        decide(similarity, settings.threshold, settings.review_floor), read, settings
    )
    log_event(
        "verification",
        **log,
        status=200,
        decision=decision,
        similarity=similarity,
        faces_in_selfie=comparison.faces_in_selfie,
        reasons=reasons,
        **(read.log_fields() if read else {}),
        total_ms=_ms(start),
    )
    body = {
        "verified": decision == MATCH,
        "decision": decision,
        "similarity": similarity,
        "threshold": settings.threshold,
        "review_floor": settings.review_floor,
        "engine": engine.name,
        "document_face": comparison.document_face.to_json(),
        "selfie_face": comparison.selfie_face.to_json(),
        "faces_in_selfie": comparison.faces_in_selfie,
        "request_id": request_id,
        "reasons": reasons,
    }
    if read is not None:
        body["document"] = read.to_json()
    return Verification(body, comparison, selfie)


def log_failure(event: str, exc: BaseException, request_id: str) -> None:
    """Log where a failure happened: the exception type and frames, never its
    message, which could quote input."""
    log_event(
        event, request_id=request_id, error=type(exc).__name__, frames=frames(exc.__traceback__)
    )


def internal_error(exc: BaseException, request_id: str) -> ApiError:
    """Log where our code failed and return the opaque 500 the caller sees."""
    log_failure("internal_error", exc, request_id)
    return errors.internal()
