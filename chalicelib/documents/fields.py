"""From OCR text boxes to a DocumentRead: the MRZ when there is one,
otherwise the labelled fields of a US driving licence (AAMVA card design:
"4d DLN", "3 DOB", "4b EXP", "1" family name, "2" given names; the value sits
after its label or in the box under it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.documents.base import DocumentFields, DocumentRead
from chalicelib.documents.mrz import MrzResult, normalise_ocr, read_mrz


@dataclass(frozen=True)
class TextBox:
    """One line of text and where it is (pixels; top-left origin)."""

    text: str
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)


def from_mrz(result: MrzResult, source: str = "mrz") -> DocumentRead:
    fields = DocumentFields(
        surname=result.surname or None,
        given_names=result.given_names or None,
        document_number=result.document_number or None,
        nationality=result.nationality or None,
        issuing_country=result.issuing_country or None,
        date_of_birth=result.date_of_birth,
        expiry_date=result.expiry_date,
        sex=result.sex,
    )
    return DocumentRead(
        read=True,
        source=source,
        type=result.document_type,
        mrz_format=result.format,
        fields=fields,
        check_digits=result.check_digits_ok,
    )


def read_text(boxes: Sequence[TextBox], today: date) -> DocumentRead:
    """The MRZ if the boxes hold one, else licence fields, else read=False."""
    ordered = sorted(
        (TextBox(normalise_ocr(b.text), b.left, b.top, b.right, b.bottom) for b in boxes),
        key=lambda b: (b.top, b.left),
    )
    mrz = read_mrz([b.text for b in ordered], today)
    if mrz is not None:
        return from_mrz(mrz)
    licence = read_licence(ordered)
    if licence.count() >= 2:
        return DocumentRead(read=True, source="text", type="driving_licence", fields=licence)
    return DocumentRead.unread("unreadable")


_DATE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
# Label -> which field. Numbers are the AAMVA field numbers printed beside labels.
_LABELS = {
    "date_of_birth": re.compile(r"^(?:3\s*)?\b(DOB|D\.O\.B|DATE OF BIRTH|BIRTH ?DATE)\b"),
    "expiry_date": re.compile(r"^(?:4B\s*)?\b(EXP|EXPIRES|EXPIRATION|EXP DATE)\b"),
    "document_number": re.compile(
        r"^(?:4D\s*)?\b(DLN|DL ?NO|DL|LIC(?:ENSE)? ?(?:NO|NUMBER|#)|NUMBER)\b[.:#]?"
    ),
}
_NAME_PREFIX = re.compile(r"^(1|2|LN|FN)\s*[.:]?\s*([A-Z\u00C0-\u024F][A-Z\u00C0-\u024F' ,\-]*)$")
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{3,22}[A-Z0-9]$")


def us_date(text: str) -> date | None:
    match = _DATE.search(text)
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _below(label: TextBox, boxes: Sequence[TextBox]) -> list[TextBox]:
    """Boxes under a label, nearest first: starting within a few label
    heights below it and overlapping it horizontally."""
    found = []
    for box in boxes:
        # Below: its middle under the label's (robust to a few degrees of tilt).
        if box is label or box.top + box.bottom < label.top + label.bottom + label.height:
            continue
        if box.top - label.bottom > label.height * 3:
            continue
        overlap = min(box.right, label.right + label.height * 4) - max(
            box.left, label.left - label.height * 2
        )
        if overlap > 0:
            found.append(box)
    return sorted(found, key=lambda b: (b.top, abs(b.left - label.left)))


def _value(label: TextBox, rest: str, boxes: Sequence[TextBox], field: str) -> object | None:
    candidates = [rest] + [b.text.upper().strip() for b in _below(label, boxes)]
    for text in candidates:
        if not text:
            continue
        if field == "document_number":
            compact = text.replace(" ", "")
            if (
                _NUMBER.match(text)
                and sum(c.isdigit() for c in compact) >= 3
                and not _DATE.search(text)
            ):
                return compact
        else:
            found = us_date(text)
            if found:
                return found
    return None


def read_licence(boxes: Sequence[TextBox]) -> DocumentFields:
    values: dict[str, Any] = {}
    for box in boxes:
        text = box.text.upper().strip()
        for field, label in _LABELS.items():
            if field in values:
                continue
            match = label.match(text)
            if match:
                value = _value(box, text[match.end() :].strip(" :.#"), boxes, field)
                if value is not None:
                    values[field] = value
    surname, given = _names(boxes)
    return DocumentFields(
        surname=surname,
        given_names=given,
        document_number=values.get("document_number"),
        date_of_birth=values.get("date_of_birth"),
        expiry_date=values.get("expiry_date"),
    )


def _names(boxes: Sequence[TextBox]) -> tuple[str | None, str | None]:
    """AAMVA: "1 FAMILY NAME" over "2 GIVEN NAMES" (the small "1" is often
    not read, so the surname is the line of letters just above the "2" line)."""
    surname = given = None
    ordered = list(boxes)
    for box in ordered:
        text = box.text.upper().strip()
        match = _NAME_PREFIX.match(text)
        if not match:
            continue
        prefix, name = match.group(1), _clean_name(match.group(2))
        if prefix in ("1", "LN") and surname is None:
            surname = name
        elif prefix in ("2", "FN") and given is None:
            given = name
            if surname is None:
                surname = _name_above(box, ordered)
    return surname, given


def _name_above(box: TextBox, boxes: Sequence[TextBox]) -> str | None:
    above = [
        b
        for b in boxes
        if b.bottom <= box.top + box.height * 0.3
        and box.top - b.bottom < box.height * 2
        and abs(b.left - box.left) < box.height * 3
    ]
    for candidate in sorted(above, key=lambda b: -b.bottom):
        text = candidate.text.upper().strip()
        text = re.sub(r"^1\s*", "", text)
        if re.fullmatch(r"[A-Z\u00C0-\u024F][A-Z\u00C0-\u024F' \-]*", text):
            return _clean_name(text)
    return None


def _clean_name(text: str) -> str:
    return " ".join(text.replace(",", " ").split())
