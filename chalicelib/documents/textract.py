"""The cloud document reader: Amazon Textract AnalyzeID on the `dl` image.

Textract names US licence and passport fields itself (FIRST_NAME,
DATE_OF_BIRTH, ...). It also returns the text lines it saw, and the MRZ
parser runs over them, so passports and ID cards of any country are read
with their check digits; when an MRZ parses, it is what the fields come
from. Every failure (throttling, timeout, a service error) is `read=False`
with a reason, within a bounded time: reading never breaks verification."""
from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any, Dict, List, Optional

from chalicelib.documents.base import (FAILED, THROTTLED, TIMEOUT, DocumentFields,
                                       DocumentRead)
from chalicelib.documents.fields import from_mrz
from chalicelib.documents.mrz import read_mrz
from chalicelib.engine import Image
from chalicelib.logs import log_event

_THROTTLING = {"ThrottlingException", "ProvisionedThroughputExceededException",
               "LimitExceededException", "TooManyRequestsException"}
_TYPES = {"DRIVER LICENSE FRONT": "driving_licence", "DRIVER LICENSE": "driving_licence",
          "PASSPORT": "passport"}
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 6
_client: Any = None
_client_lock = threading.Lock()


def _default_client() -> Any:
    """One Textract client per process: botocore clients are thread-safe.
    One attempt, short timeouts: a slow Textract must not hold the answer."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                import boto3
                from botocore.config import Config
                _client = boto3.client("textract", config=Config(
                    connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                    retries={"max_attempts": 1, "mode": "standard"}))
    return _client


class TextractReader:
    name = "textract"

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def read(self, image: Image, today: date) -> DocumentRead:
        from botocore.exceptions import (BotoCoreError, ClientError, ConnectTimeoutError,
                                         ReadTimeoutError)
        start = time.perf_counter()
        client = self._client or _default_client()
        try:
            response = client.analyze_id(DocumentPages=[{"Bytes": image.data}])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reason = THROTTLED if code in _THROTTLING else FAILED
            log_event("document_reader_error", reader=self.name, error=code or "ClientError",
                      ms=_ms(start))
            return DocumentRead.unread(reason)
        except (ConnectTimeoutError, ReadTimeoutError):
            log_event("document_reader_error", reader=self.name, error="Timeout", ms=_ms(start))
            return DocumentRead.unread(TIMEOUT)
        except BotoCoreError as exc:
            log_event("document_reader_error", reader=self.name, error=type(exc).__name__,
                      ms=_ms(start))
            return DocumentRead.unread(FAILED)
        result = from_analyze_id(response, today)
        log_event("document_textract", read=result.read, source=result.source, ms=_ms(start))
        return result


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _iso(detection: Dict[str, Any]) -> Optional[date]:
    """A Textract date: NormalizedValue "2028-01-20T00:00:00", else the text MM/DD/YYYY."""
    normalized = (detection.get("NormalizedValue") or {}).get("Value") or ""
    try:
        return date.fromisoformat(normalized[:10])
    except ValueError:
        pass
    from chalicelib.documents.fields import _us_date
    return _us_date(detection.get("Text") or "")


def from_analyze_id(response: Dict[str, Any], today: date) -> DocumentRead:
    """Map an AnalyzeID answer (its documented shape) onto the document fields."""
    documents = response.get("IdentityDocuments") or []
    if not documents:
        return DocumentRead.unread("unreadable")
    document = documents[0]
    values: Dict[str, Dict[str, Any]] = {}
    for item in document.get("IdentityDocumentFields") or []:
        kind = ((item.get("Type") or {}).get("Text") or "").upper()
        values[kind] = item.get("ValueDetection") or {}

    lines: List[str] = [b.get("Text", "") for b in document.get("Blocks") or []
                        if b.get("BlockType") == "LINE"]
    mrz_text = (values.get("MRZ_CODE") or {}).get("Text") or ""
    mrz = read_mrz(lines, today) or (read_mrz(mrz_text.split(), today) if mrz_text else None)
    if mrz is not None:
        return from_mrz(mrz)

    def text(kind: str) -> Optional[str]:
        value = ((values.get(kind) or {}).get("Text") or "").strip()
        return value or None

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
