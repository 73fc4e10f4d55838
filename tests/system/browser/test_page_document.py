"""Issue 9, the page's part: before the selfie step the page shows what was
read from the document ("Is this you? ERIKSSON ANNA MARIA, born 1974-08-12")
from `POST documents`, and the result shows the /ips answer's `document`
and `reasons`.

The page's rendering is tested with Playwright's request routing answering
/documents and /ips with bodies in the contract's shape (issue 9). Reading
is optional for the page: any error, a service without /documents, or an
unreadable document shows nothing and never holds verification up. The
last two tests run the real local server: verification goes through whatever
/documents answers (a face photo is no document), and the page's own JPEG of
ICAO's specimen passport is read end to end."""
from __future__ import annotations

import copy
import json

import pytest
from PIL import Image

from tests.support.browser import (
    FACES,
    RESULT_TIMEOUT_MS,
    choose,
    outcome,
    save_jpeg,
    verify,
    wait_until,
)

# The document object exactly as issue 9 specifies it.
DOCUMENT = {
    "read": True,
    "source": "mrz",
    "type": "passport",
    "mrz_format": "TD3",
    "fields": {
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "document_number": "L898902C3",
        "nationality": "UTO",
        "issuing_country": "UTO",
        "date_of_birth": "1974-08-12",
        "expiry_date": "2012-04-15",
        "sex": "F",
    },
    "checks": {
        "check_digits": "fail",
        "expired": True,
        "minimum_age": "pass",
        "expected_data": None,
    },
}
UNREAD = {"read": False, "source": "mrz", "type": "unknown", "mrz_format": None,
          "fields": {}, "checks": {"check_digits": None, "expired": None,
                                   "minimum_age": None, "expected_data": None}}
FACE = {"bounding_box": {"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6},
        "confidence": 99.0}
REASONS = ["DOCUMENT_EXPIRED", "DOCUMENT_CHECK_DIGITS", "UNDER_MINIMUM_AGE",
           "EXPECTED_DATA_MISMATCH", "DOCUMENT_UNREADABLE", "DUPLICATE_FACE"]


def ips_answer(decision="match", similarity=91.5, document=None, reasons=None) -> dict:
    body = {"verified": decision == "match", "decision": decision, "similarity": similarity,
            "threshold": 80.0, "review_floor": None, "engine": "local",
            "document_face": FACE, "selfie_face": FACE, "faces_in_selfie": 1,
            "request_id": "req-doc"}
    if document is not None:
        body["document"] = document
    if reasons is not None:
        body["reasons"] = reasons
    return body


def route_json(page, pattern: str, status: int, body) -> list:
    """Answer every request to pattern with status and body (a dict is sent
    as JSON, a str as it is); returns the list of request bodies seen."""
    seen: list = []

    def handle(route):
        seen.append(route.request.post_data)
        route.fulfill(status=status, content_type="application/json",
                      body=body if isinstance(body, str) else json.dumps(body))
    page.unroute(pattern)
    page.route(pattern, handle)
    return seen


@pytest.fixture
def photo(tmp_path):
    return save_jpeg(Image.new("RGB", (320, 240), (200, 150, 120)), tmp_path / "card.jpg")


def test_the_page_shows_what_was_read_before_the_selfie(desktop, photo):
    page = desktop
    seen = route_json(page, "**/documents", 200, {"document": DOCUMENT})
    choose(page, "dl", photo)
    page.wait_for_selector("#dl-read[data-state='shown']")
    assert page.is_visible("#dl-read")
    assert page.inner_text("#dl-read-question") == \
        "Is this you? ERIKSSON ANNA MARIA, born 1974-08-12"
    note = page.inner_text("#dl-read-note")
    assert "expired (2012-04-15)" in note and "misread" in note
    # One request, with the document only, as the page will send it to /ips.
    assert len(seen) == 1 and set(json.loads(seen[0])) == {"dl"}
    # A new document photo replaces what was shown.
    other = copy.deepcopy(DOCUMENT)
    other["fields"].update(surname="MUSTERMANN", given_names="ERIKA", date_of_birth="1964-08-12")
    other["checks"].update(check_digits="pass", expired=False)
    route_json(page, "**/documents", 200, {"document": other})
    choose(page, "dl", photo)
    page.wait_for_selector("#dl-read-question:text-is('Is this you? MUSTERMANN ERIKA, "
                           "born 1964-08-12')")
    assert "expired" not in page.inner_text("#dl-read-note")


def test_read_fields_are_shown_as_text_never_as_html(desktop, photo):
    page = desktop
    hostile = copy.deepcopy(DOCUMENT)
    hostile["fields"]["surname"] = '<img src=x onerror="document.title=\'pwned\'">'
    hostile["fields"]["given_names"] = "<b>ANNA</b>"
    route_json(page, "**/documents", 200, {"document": hostile})
    route_json(page, "**/ips", 200, ips_answer(document=hostile))
    choose(page, "dl", photo)
    page.wait_for_selector("#dl-read[data-state='shown']")
    assert page.inner_text("#dl-read-question").startswith('Is this you? <img src=x onerror=')
    choose(page, "selfie", photo)
    verify(page)
    assert "<b>ANNA</b>" in page.inner_text("#result-document-fields")
    assert page.locator("#dl-read img, #dl-read b, #result-document img, "
                        "#result-document b").count() == 0
    assert page.title() == "Verify your identity"


@pytest.mark.parametrize("status, body", [
    (404, {"code": "NOT_FOUND", "message": "No such route."}),
    (405, {"code": "METHOD_NOT_ALLOWED", "message": "Method not allowed."}),
    (403, {"message": "Missing Authentication Token"}),       # API Gateway, unknown route
    (500, {"code": "INTERNAL_ERROR", "message": "boom"}),
    (422, {"code": "NO_FACE", "message": "No face.", "field": "dl"}),
    (200, {"document": UNREAD}),
    (200, {"document": {"read": True, "fields": {}}}),         # nothing worth showing
    (200, {"something": "else"}),
    (200, "not json"),
])
def test_nothing_is_shown_when_nothing_was_read(desktop, photo, status, body):
    page = desktop
    route_json(page, "**/documents", status, body)
    route_json(page, "**/ips", 200, ips_answer())
    choose(page, "dl", photo)
    page.wait_for_selector("#dl-read[data-state='none']", state="attached")
    assert page.is_hidden("#dl-read")
    assert page.inner_text("#dl-message") == ""
    choose(page, "selfie", photo)
    verify(page)
    assert outcome(page) == "verified"


def test_an_unreachable_documents_service_shows_nothing(desktop, photo):
    page = desktop
    page.route("**/documents", lambda route: route.abort("connectionrefused"))
    choose(page, "dl", photo)
    page.wait_for_selector("#dl-read[data-state='none']", state="attached")
    assert page.is_hidden("#dl-read")


def test_verification_never_waits_for_the_document_reading(desktop, photo):
    page = desktop
    held: list = []
    page.route("**/documents", lambda route: held.append(route))   # answered at the end
    route_json(page, "**/ips", 200, ips_answer())
    choose(page, "dl", photo)
    choose(page, "selfie", photo)
    verify(page)
    assert outcome(page) == "verified"
    assert page.get_attribute("#dl-read", "data-state") == "pending"
    wait_until(page, lambda: held)                    # the route handler has the request
    held[0].abort("timedout")
    page.wait_for_selector("#dl-read[data-state='none']", state="attached")


def test_result_shows_the_document_and_the_reasons(desktop, photo):
    page = desktop
    route_json(page, "**/documents", 404, {"code": "NOT_FOUND", "message": "x"})
    route_json(page, "**/ips", 200, ips_answer(
        decision="review", document=DOCUMENT, reasons=["DOCUMENT_EXPIRED", "DOCUMENT_CHECK_DIGITS"]))
    choose(page, "dl", photo)
    choose(page, "selfie", photo)
    verify(page)
    assert outcome(page) == "review"
    assert page.inner_text("#result-title") == "Needs a manual review"
    message = page.inner_text("#result-message")
    assert "matches the photo on the identity document" in message and "reasons below" in message
    fields = page.locator("#result-document-fields dd").all_inner_texts()
    terms = page.locator("#result-document-fields dt").all_inner_texts()
    shown = dict(zip(terms, fields, strict=True))
    assert shown["Name"] == "ERIKSSON ANNA MARIA"
    assert shown["Date of birth"] == "1974-08-12"
    assert shown["Document"] == "Passport"
    assert shown["Document number"] == "L898902C3"
    assert shown["Expiry date"] == "2012-04-15 (expired)"
    assert shown["Check digits"] == "wrong"
    assert shown["Minimum age"] == "met"
    assert "Your details" not in shown                 # expected_data: null, not checked
    reasons = page.locator("#result-reasons li")
    assert reasons.count() == 2
    assert [reasons.nth(i).get_attribute("data-code") for i in range(2)] == \
        ["DOCUMENT_EXPIRED", "DOCUMENT_CHECK_DIGITS"]
    assert reasons.nth(0).inner_text().startswith("The identity document has expired")


@pytest.mark.parametrize("code", REASONS)
def test_every_reason_code_has_its_own_message(desktop, photo, code):
    page = desktop
    route_json(page, "**/documents", 404, {"code": "NOT_FOUND", "message": "x"})
    route_json(page, "**/ips", 200, ips_answer(decision="no_match", document=UNREAD
                                               if code == "DOCUMENT_UNREADABLE" else DOCUMENT,
                                               reasons=[code]))
    choose(page, "dl", photo)
    choose(page, "selfie", photo)
    verify(page)
    assert outcome(page) == "not-verified"
    assert "did not pass the checks below" in page.inner_text("#result-message")
    item = page.locator("#result-reasons li")
    assert item.count() == 1
    text = item.inner_text()
    assert text == page.evaluate("(c) => window.ips.describeReason(c)", code)
    assert not text.startswith("Another check"), code
    assert code not in text


def test_an_unknown_reason_code_is_still_shown(desktop, photo):
    page = desktop
    route_json(page, "**/ips", 200, ips_answer(decision="review", reasons=["SOMETHING_NEW"]))
    choose(page, "dl", photo)
    choose(page, "selfie", photo)
    verify(page)
    assert page.inner_text("#result-reasons li") == "Another check did not pass (SOMETHING_NEW)."


def test_an_answer_without_document_or_reasons_shows_neither(desktop, photo):
    page = desktop
    route_json(page, "**/ips", 200, ips_answer())
    choose(page, "dl", photo)
    choose(page, "selfie", photo)
    verify(page)
    assert page.is_hidden("#result-document") and page.is_hidden("#result-reasons-box")
    assert outcome(page) == "verified"


def test_real_server_verifies_whatever_documents_answers(desktop, faces):
    """No routing: the real local server. Whatever it answers on /documents
    (an error on a service without the route, read:false for a face photo),
    verification goes through and nothing is shown unless something was read."""
    page = desktop
    with page.expect_response(lambda r: r.url.endswith("/documents"),
                              timeout=RESULT_TIMEOUT_MS) as answer:
        choose(page, "dl", faces / "obama2.jpg")
    page.wait_for_selector("#dl-read[data-state='none'], #dl-read[data-state='shown']",
                           state="attached", timeout=RESULT_TIMEOUT_MS)
    if answer.value.status >= 400:
        assert page.is_hidden("#dl-read")
    choose(page, "selfie", faces / "obama.jpg")
    verify(page)
    assert outcome(page) == "verified", page.inner_text("#result")
    assert page.inner_text("#dl-message") == ""


SPECIMEN = FACES.parent / "documents" / "passporteye" / "passport-td3.jpg"


@pytest.mark.skipif(not SPECIMEN.exists(), reason=f"specimen documents not found at {SPECIMEN}")
def test_real_server_reads_the_specimen_passport(desktop):
    """End to end: the page's own downscaled JPEG of ICAO's Utopia specimen
    passport, read by the local stage's offline reader."""
    page = desktop
    choose(page, "dl", SPECIMEN)
    page.wait_for_selector("#dl-read[data-state='none'], #dl-read[data-state='shown']",
                           state="attached", timeout=RESULT_TIMEOUT_MS)
    assert page.get_attribute("#dl-read", "data-state") == "shown"
    assert page.inner_text("#dl-read-question") == \
        "Is this you? ERIKSSON ANNA MARIA, born 1974-08-12"
    assert "expired (2012-04-15)" in page.inner_text("#dl-read-note")
