"""The document checks every reader's output goes through: expiry against
today, minimum age, and the data the person typed compared with the
document (tolerant of case, accents, MRZ transliteration and name order)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from chalicelib.documents.base import DocumentChecks, DocumentRead, DocumentResult

# ICAO 9303 Part 3 transliterations that differ from simply dropping the accent.
_ICAO = {
    "Ä": "AE",
    "Ö": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Å": "AA",
    "Æ": "AE",
    "Ø": "OE",
    "Þ": "TH",
    "Ð": "D",
    "Œ": "OE",
    "Ĳ": "IJ",
    "Ł": "L",
    "Đ": "D",
    "Ħ": "H",
    "Ŧ": "T",
}


@dataclass(frozen=True)
class Expected:
    surname: str | None = None
    given_names: str | None = None
    date_of_birth: date | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.surname, self.given_names, self.date_of_birth))


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_variants(text: str) -> set[str]:
    """Every spelling a document may use for a name, as sorted upper-case
    words: accents dropped (É -> E) or ICAO-transliterated (Ä -> AE)."""
    upper = text.upper()
    icao = "".join(_ICAO.get(c, c) for c in upper)
    variants = set()
    for spelling in (upper, icao):
        words = re.split(r"[^A-Z]+", _plain(spelling).upper())
        variants.add(" ".join(sorted(w for w in words if w)))
    return variants


def names_match(expected: str, on_document: str) -> bool:
    return bool(name_variants(expected) & name_variants(on_document))


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _verdict(ok: bool | None) -> str | None:
    return None if ok is None else ("pass" if ok else "fail")


def _all(results: Iterable[bool]) -> bool | None:
    values = list(results)
    return all(values) if values else None


def run_checks(
    document: DocumentRead,
    today: date,
    min_age: int | None = None,
    expected: Expected | None = None,
) -> DocumentResult:
    if not document.read:
        return DocumentResult(document)
    fields = document.fields
    expired = None if fields.expiry_date is None else fields.expiry_date < today
    age_ok = None
    if min_age is not None and fields.date_of_birth is not None:
        age_ok = age_on(fields.date_of_birth, today) >= min_age
    compared = []
    if expected is not None:
        if expected.surname is not None:
            compared.append(
                fields.surname is not None and names_match(expected.surname, fields.surname)
            )
        if expected.given_names is not None:
            compared.append(
                fields.given_names is not None
                and names_match(expected.given_names, fields.given_names)
            )
        if expected.date_of_birth is not None:
            compared.append(expected.date_of_birth == fields.date_of_birth)
    checks = DocumentChecks(
        check_digits=_verdict(document.check_digits),
        expired=expired,
        minimum_age=_verdict(age_ok),
        expected_data=_verdict(_all(compared)),
    )
    return DocumentResult(document, checks)
