"""The document-reading interface shared by the Textract and offline readers.

A reader takes the `dl` image and returns a DocumentRead: what the document
says (fields), where that came from (MRZ, printed text, Textract) and whether
its MRZ check digits hold. It never raises for an unreadable document or a
failed cloud call: that is `read=False` with a reason. The checks against
today, the minimum age and the caller's expected data are done once for
every reader in chalicelib.documents.checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol

from chalicelib.imaging.image import Image

SOURCES = ("mrz", "text", "textract")
TYPES = ("passport", "id_card", "driving_licence", "unknown")
# Why nothing was read (document.reason): stable words, never input.
UNREADABLE, TIMEOUT, THROTTLED, FAILED, UNAVAILABLE = (
    "unreadable",
    "timeout",
    "throttled",
    "reader_error",
    "reader_unavailable",
)


@dataclass(frozen=True)
class DocumentFields:
    surname: str | None = None
    given_names: str | None = None
    document_number: str | None = None
    nationality: str | None = None
    issuing_country: str | None = None
    date_of_birth: date | None = None
    expiry_date: date | None = None
    sex: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}

    def count(self) -> int:
        return sum(v is not None for v in asdict(self).values())


@dataclass(frozen=True)
class DocumentRead:
    read: bool
    source: str | None = None  # one of SOURCES when read
    type: str = "unknown"  # one of TYPES
    mrz_format: str | None = None  # TD1, TD2, TD3 or None
    fields: DocumentFields = field(default_factory=DocumentFields)
    check_digits: bool | None = None  # None: no MRZ was read
    reason: str | None = None  # why read is False

    @classmethod
    def unread(cls, reason: str) -> DocumentRead:
        return cls(read=False, reason=reason)


@dataclass(frozen=True)
class DocumentChecks:
    check_digits: str | None = None  # "pass" | "fail" | None (no MRZ)
    expired: bool | None = None  # None: no expiry date read
    minimum_age: str | None = None  # "pass" | "fail" | None (no IPS_MIN_AGE or no DOB)
    expected_data: str | None = None  # "pass" | "fail" | None (nothing expected)


@dataclass(frozen=True)
class DocumentResult:
    """A read plus its checks: the `document` object of the API."""

    document: DocumentRead
    checks: DocumentChecks = field(default_factory=DocumentChecks)

    def to_json(self) -> dict[str, Any]:
        doc = self.document
        body: dict[str, Any] = {
            "read": doc.read,
            "source": doc.source if doc.read else None,
            "type": doc.type if doc.read else "unknown",
            "mrz_format": doc.mrz_format if doc.read else None,
            "fields": doc.fields.to_json() if doc.read else {},
            "checks": asdict(self.checks) if doc.read else asdict(DocumentChecks()),
        }
        if not doc.read:
            body["reason"] = doc.reason or UNREADABLE
        return body

    def log_fields(self) -> dict[str, Any]:
        """What may be logged: which checks passed, source, type. No values."""
        doc = self.document
        return {
            "document_read": doc.read,
            "document_source": doc.source,
            "document_type": doc.type,
            "mrz_format": doc.mrz_format,
            "document_reason": doc.reason,
            "fields_read": doc.fields.count(),
            **{f"check_{k}": v for k, v in asdict(self.checks).items()},
        }


class DocumentReader(Protocol):
    name: str

    def read(self, image: Image, today: date) -> DocumentRead:
        """Read the document image. Never raises for an unreadable image or a
        failed service: returns DocumentRead.unread(reason) instead."""
        ...
