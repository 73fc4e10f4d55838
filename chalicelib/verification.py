"""One verification, from the raw request body to the response body:
decode, check both images, normalise them (chalicelib.image_normalise),
compare on the stage's engine, decide, log."""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from chalicelib.decision import MATCH, decide
from chalicelib.engine import Comparison, FaceEngine, Image
from chalicelib.engines import engine_for
from chalicelib.errors import ApiError
from chalicelib.image_checks import check_image
from chalicelib.image_normalise import normalise
from chalicelib.logs import log_event
from chalicelib.request_decoding import parse_body
from chalicelib.settings import Settings


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True)
class Verification:
    """A verification's response body and what enrolment reuses from it."""
    body: Dict[str, Any]
    comparison: Comparison
    selfie: Image            # normalised, as the engine saw it
    engine: FaceEngine


def verify(raw_body: bytes, content_type: Optional[str], settings: Settings,
           request_id: str) -> Dict[str, Any]:
    """Return the 200 response body, or raise ApiError. Logs one line either way."""
    return run_verification(raw_body, content_type, settings, request_id).body


def run_verification(raw_body: bytes, content_type: Optional[str], settings: Settings,
                     request_id: str,
                     parse: Callable[[bytes, Optional[str]], Dict[str, bytes]] = parse_body,
                     ) -> Verification:
    """verify(), for callers that need more than the body (POST /enrolments
    parses its own body shape with `parse`)."""
    start = time.perf_counter()
    log: Dict[str, Any] = {"request_id": request_id, "stage": settings.stage,
                           "engine": settings.engine, "body_bytes": len(raw_body)}
    try:
        images = parse(raw_body, content_type)
        log.update(dl_bytes=len(images["dl"]), selfie_bytes=len(images["selfie"]))
        document = check_image(images["dl"], "dl")
        selfie = check_image(images["selfie"], "selfie")
        # Both checked (cheap, header only) before either is converted.
        document, selfie = normalise(document), normalise(selfie)
        log.update(dl_reencoded=document.data is not images["dl"],
                   selfie_reencoded=selfie.data is not images["selfie"])
        engine = engine_for(settings.engine, settings.engine_options)
        engine_start = time.perf_counter()
        comparison = engine.compare(document, selfie)
        log["engine_ms"] = _ms(engine_start)
    except ApiError as error:
        log_event("verification", **log, status=error.status, code=error.code,
                  field=error.field, total_ms=_ms(start))
        raise
    similarity = round(comparison.similarity, 2)
    decision = decide(similarity, settings.threshold, settings.review_floor)
    log_event("verification", **log, status=200, decision=decision,
              similarity=similarity, faces_in_selfie=comparison.faces_in_selfie,
              total_ms=_ms(start))
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
    }
    return Verification(body, comparison, selfie, engine)


def internal_error(exc: BaseException, request_id: str) -> ApiError:
    """Log where our code failed (type and frames, never the message, which
    could quote input) and return the opaque 500 the caller sees."""
    frames = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}"
              for f in traceback.extract_tb(exc.__traceback__)]
    log_event("internal_error", request_id=request_id, error=type(exc).__name__,
              frames=frames)
    return ApiError(500, "INTERNAL_ERROR", "Something went wrong on our side; retry later.")
