"""One verification, from the raw request body to its result: decode, check
and normalise both images (chalicelib.imaging), compare on the stage's
engine while the document is read (chalicelib.documents.reading), decide
(chalicelib.decision), log one line."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.backends import Services
from chalicelib.core.errors import ApiError
from chalicelib.core.logs import log_event, log_failure
from chalicelib.core.timing import ms
from chalicelib.decision.policy import Decision, decide
from chalicelib.documents.base import DocumentResult
from chalicelib.documents.reading import Reading
from chalicelib.faces.base import Comparison
from chalicelib.flows import admission
from chalicelib.flows.payload import FIELDS, decode_image_field, load_payload, parse_expected
from chalicelib.flows.request import Request
from chalicelib.imaging.checks import check_image
from chalicelib.imaging.image import Image
from chalicelib.imaging.normalise import normalise


@dataclass(frozen=True)
class Verification:
    """A verification's result, and what enrolment reuses from it."""

    decision: Decision
    similarity: float  # rounded to 0.01
    comparison: Comparison
    document: DocumentResult | None
    engine: str
    selfie: Image  # normalised, as the engine saw it


def verify(
    services: Services,
    request: Request,
    check_payload: Callable[[dict[str, Any]], None] | None = None,
) -> Verification:
    """Return the result, or raise ApiError. Logs one line either way.
    POST /enrolments checks its own fields with `check_payload` first."""
    settings = services.settings
    start = time.perf_counter()
    log: dict[str, Any] = {
        "request_id": request.request_id,
        "stage": settings.stage,
        "engine": settings.engine,
        "body_bytes": len(request.body),
    }
    reading: Reading | None = None
    try:
        payload = load_payload(request.body, request.content_type)
        if check_payload is not None:
            check_payload(payload)  # a route's own fields, before any image is decoded
        images = {field: decode_image_field(payload, field) for field in FIELDS}
        expected = parse_expected(payload)
        log.update(dl_bytes=len(images["dl"]), selfie_bytes=len(images["selfie"]))
        # Both checked (cheap, header only) before either is converted: the
        # same steps as chalicelib.imaging.prepare, split to keep that order.
        document = check_image(images["dl"], "dl")
        selfie = check_image(images["selfie"], "selfie")
        # Bad input is answered at once; only the costly part waits for a turn
        # (chalicelib/flows/admission.py: bounded, 503 ENGINE_BUSY beyond the bound).
        wait_start = time.perf_counter()
        with admission.slot("verification"):
            log["wait_ms"] = ms(wait_start)
            document, selfie = normalise(document), normalise(selfie)
            log.update(
                dl_reencoded=document.data is not images["dl"],
                selfie_reencoded=selfie.data is not images["selfie"],
            )
            engine = services.faces()
            engine_start = time.perf_counter()
            # in parallel, never after
            reading = Reading(services.reader, document, settings.documents, services.today())
            comparison = engine.compare(document, selfie)
            log["engine_ms"] = ms(engine_start)
            read = reading.finish(expected)
            log["document_ms"] = ms(engine_start)
    except ApiError as error:
        if reading is not None:
            reading.cancel()  # only stops a read that has not started yet
        if error.__cause__ is not None and error.status >= 500:
            log_failure("engine_error", error.__cause__, request.request_id)
        log_event(
            "verification",
            **log,
            status=error.status,
            code=str(error.code),
            field=error.field,
            total_ms=ms(start),
        )
        raise
    similarity = round(comparison.similarity, 2)
    decision = decide(similarity, settings.decision, read, settings.documents)
    log_event(
        "verification",
        **log,
        status=200,
        decision=decision.outcome,
        similarity=similarity,
        faces_in_selfie=comparison.faces_in_selfie,
        reasons=list(decision.reasons),
        **(read.log_fields() if read else {}),
        total_ms=ms(start),
    )
    return Verification(decision, similarity, comparison, read, engine.name, selfie)
