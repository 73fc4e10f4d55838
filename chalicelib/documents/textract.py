"""The cloud document reader: Amazon Textract AnalyzeID on the `dl` image.

Textract names US licence and passport fields itself (FIRST_NAME,
DATE_OF_BIRTH, ...). It also returns the text lines it saw, and the MRZ
parser runs over them, so passports and ID cards of any country are read
with their check digits; when an MRZ parses, it is what the fields come
from. Every failure (throttling, timeout, a service error) is `read=False`
with a reason, within a bounded time: reading never breaks verification."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from chalicelib.core.logs import log_event
from chalicelib.documents.base import FAILED, THROTTLED, TIMEOUT, DocumentFields, DocumentRead
from chalicelib.documents.fields import from_mrz, us_date
from chalicelib.documents.mrz import read_mrz
from chalicelib.imaging.image import Image

_THROTTLING = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "TooManyRequestsException",
}
_TYPES = {
    "DRIVER LICENSE FRONT": "driving_licence",
    "DRIVER LICENSE": "driving_licence",
    "PASSPORT": "passport",
}


class TextractReader:
    name = "textract"

    def __init__(self, client: Any = None) -> None:
        if client is None:
            from chalicelib.aws import clients as aws

            client = aws.client("textract")
        self.client = client

    def read(self, image: Image, today: date) -> DocumentRead:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        start = time.perf_counter()
        try:
            response = self.client.analyze_id(DocumentPages=[{"Bytes": image.data}])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reason = THROTTLED if code in _THROTTLING else FAILED
            log_event(
                "document_reader_error",
                reader=self.name,
                error=code or "ClientError",
                ms=_ms(start),
            )
            return DocumentRead.unread(reason)
        except (ConnectTimeoutError, ReadTimeoutError):
            log_event("document_reader_error", reader=self.name, error="Timeout", ms=_ms(start))
            return DocumentRead.unread(TIMEOUT)
        except BotoCoreError as exc:
            log_event(
                "document_reader_error", reader=self.name, error=type(exc).__name__, ms=_ms(start)
            )
            return DocumentRead.unread(FAILED)
        result = from_analyze_id(response, today)
        log_event("document_textract", read=result.read, source=result.source, ms=_ms(start))
        return result


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _iso(detection: dict[str, Any]) -> date | None:
    """A Textract date: NormalizedValue "2028-01-20T00:00:00", else the text MM/DD/YYYY."""
    normalized = _text(_dict(detection.get("NormalizedValue")).get("Value"))
    try:
        return date.fromisoformat(normalized[:10])
    except ValueError:
        return us_date(_text(detection.get("Text")))


# The answer is parsed by botocore against the service model; these guards
# keep a malformed stand-in endpoint's answer from raising all the same.
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_analyze_id(response: dict[str, Any], today: date) -> DocumentRead:
    """Map an AnalyzeID answer (its documented shape) onto the document fields."""
    documents = _list(response.get("IdentityDocuments"))
    if not documents:
        return DocumentRead.unread("unreadable")
    document = _dict(documents[0])
    values: dict[str, dict[str, Any]] = {}
    for item in map(_dict, _list(document.get("IdentityDocumentFields"))):
        kind = _text(_dict(item.get("Type")).get("Text")).upper()
        values[kind] = _dict(item.get("ValueDetection"))

    lines = [
        _text(b.get("Text"))
        for b in map(_dict, _list(document.get("Blocks")))
        if b.get("BlockType") == "LINE"
    ]
    mrz_text = _text(values.get("MRZ_CODE", {}).get("Text"))
    mrz = read_mrz(lines, today) or (read_mrz(mrz_text.split(), today) if mrz_text else None)
    if mrz is not None:
        return from_mrz(mrz)

    def text(kind: str) -> str | None:
        return _text(values.get(kind, {}).get("Text")).strip() or None

    given = " ".join(v for v in (text("FIRST_NAME"), text("MIDDLE_NAME")) if v) or None
    fields = DocumentFields(
        surname=text("LAST_NAME"),
        given_names=given,
        document_number=text("DOCUMENT_NUMBER"),
        date_of_birth=_iso(values["DATE_OF_BIRTH"]) if "DATE_OF_BIRTH" in values else None,
        expiry_date=_iso(values["EXPIRATION_DATE"]) if "EXPIRATION_DATE" in values else None,
    )
    if fields.count() == 0:
        return DocumentRead.unread("unreadable")
    kind = _TYPES.get((text("ID_TYPE") or "").upper(), "unknown")
    return DocumentRead(read=True, source="textract", type=kind, fields=fields)
