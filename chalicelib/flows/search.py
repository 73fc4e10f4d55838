"""POST /search: the enrolled subjects that look like a selfie (docs/enrolment.md)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.backends import Services
from chalicelib.core.logs import log_event
from chalicelib.enrolment.base import Match, Probe
from chalicelib.flows import admission
from chalicelib.flows.payload import decode_image_field, load_payload
from chalicelib.flows.request import Request
from chalicelib.imaging.checks import check_image
from chalicelib.imaging.normalise import normalise


@dataclass(frozen=True)
class SearchResult:
    matches: list[Match]
    threshold: float
    engine: str


def search(services: Services, request: Request) -> SearchResult:
    settings = services.settings
    payload = load_payload(request.body, request.content_type)
    checked = check_image(decode_image_field(payload, "selfie"), "selfie")
    # Bad input is answered at once; conversion, the face engine and the
    # search wait for a turn, as for /ips (chalicelib/flows/admission.py).
    with admission.slot("search"):
        selfie = normalise(checked)
        engine = services.faces()
        descriptor = None
        describe = getattr(engine, "describe", None)
        if describe is not None:  # the offline engine: the local store compares descriptors
            _, descriptor = describe(selfie)
        matches = services.store().search(
            request.tenant_id,
            Probe(selfie, descriptor),
            settings.search.threshold,
            settings.search.max_matches,
        )
    log_event(
        "search",
        request_id=request.request_id,
        stage=settings.stage,
        status=200,
        matches=len(matches),
    )
    return SearchResult(matches, settings.search.threshold, engine.name)
