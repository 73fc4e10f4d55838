"""POST /documents: read one document alone, with the same decoding, image
checks and errors as POST /ips (docs/document-reading.md)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.backends import Services
from chalicelib.core.errors import ApiError
from chalicelib.core.logs import log_event
from chalicelib.core.timing import ms
from chalicelib.documents.base import DocumentResult
from chalicelib.documents.reading import read_now
from chalicelib.flows import admission
from chalicelib.flows.payload import decode_image_field, load_payload, parse_expected
from chalicelib.flows.request import Request
from chalicelib.imaging.checks import check_image
from chalicelib.imaging.normalise import normalise


def read_document(services: Services, request: Request) -> DocumentResult:
    settings = services.settings
    started = time.perf_counter()
    log: dict[str, Any] = {
        "request_id": request.request_id,
        "stage": settings.stage,
        "body_bytes": len(request.body),
    }
    try:
        payload = load_payload(request.body, request.content_type)
        image = normalise(check_image(decode_image_field(payload, "dl"), "dl"))
        expected = parse_expected(payload)
    except ApiError as error:
        log_event(
            "document_request",
            **log,
            status=error.status,
            code=error.code,
            field=error.field,
            total_ms=ms(started),
        )
        raise
    with admission.slot("documents"):  # OCR is compute-heavy too: bounded, 503 beyond
        result = read_now(services.reader, image, settings.documents, services.today(), expected)
    log_event("document_request", **log, status=200, **result.log_fields(), total_ms=ms(started))
    return result
