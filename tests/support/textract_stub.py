"""Canned Amazon Textract AnalyzeID answers in AWS's documented response
shape (IdentityDocuments -> IdentityDocumentFields with Type/ValueDetection,
NormalizedValue for dates, and the LINE Blocks), shared by the reader and
route tests."""

from __future__ import annotations

from typing import Any


def field(kind: str, text: str, normalized: str | None = None) -> dict[str, Any]:
    detection: dict[str, Any] = {"Text": text, "Confidence": 98.5}
    if normalized:
        detection["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
    return {"Type": {"Text": kind}, "ValueDetection": detection}


def line(text: str, index: int) -> dict[str, Any]:
    return {"BlockType": "LINE", "Id": f"line-{index}", "Text": text, "Confidence": 99.0,
            "Geometry": {"BoundingBox": {"Width": 0.9, "Height": 0.05, "Left": 0.05,
                                        "Top": 0.1 + index * 0.06}}}


def analyze_id_answer(fields: list[dict[str, Any]], lines: tuple[str, ...] = ()) -> dict[str, Any]:
    document: dict[str, Any] = {"DocumentIndex": 1, "IdentityDocumentFields": fields}
    if lines:
        document["Blocks"] = [line(text, i) for i, text in enumerate(lines)]
    return {"IdentityDocuments": [document], "DocumentMetadata": {"Pages": 1},
            "AnalyzeIDModelVersion": "1.0"}


# A US driving licence as Textract reads it (cf. AWS's AnalyzeID example).
LICENCE = analyze_id_answer([
    field("FIRST_NAME", "JORGE"), field("LAST_NAME", "SOUZA"), field("MIDDLE_NAME", ""),
    field("SUFFIX", ""), field("CITY_IN_ADDRESS", "ANYTOWN"), field("STATE_NAME", "MASSACHUSETTS"),
    field("DOCUMENT_NUMBER", "820BAC729CBAC"),
    field("EXPIRATION_DATE", "01/20/2028", "2028-01-20T00:00:00"),
    field("DATE_OF_BIRTH", "03/18/1978", "1978-03-18T00:00:00"),
    field("DATE_OF_ISSUE", "03/18/2018", "2018-03-18T00:00:00"),
    field("ID_TYPE", "DRIVER LICENSE FRONT"), field("CLASS", "D"),
])

# A passport whose MRZ Textract returns among its text lines.
PASSPORT = analyze_id_answer(
    [field("FIRST_NAME", "ANNA MARIA"), field("LAST_NAME", "ERIKSSON"),
     field("DOCUMENT_NUMBER", "L898902C3"), field("ID_TYPE", "PASSPORT"),
     field("EXPIRATION_DATE", "15 APR 2012", "2012-04-15T00:00:00"),
     field("DATE_OF_BIRTH", "12 AUG 1974", "1974-08-12T00:00:00"),
     field("MRZ_CODE", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
                       "L898902C36UTO7408122F1204159ZE184226B<<<<<10")],
    lines=("UTOPIA", "Passport/ Passeport", "ERIKSSON", "ANNA MARIA",
           "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
           "L898902C36UTO7408122F1204159ZE184226B<<<<<10"),
)

EMPTY = {"IdentityDocuments": [], "DocumentMetadata": {"Pages": 1}}


def analyze_params(data: bytes) -> dict[str, Any]:
    """What ips sends to AnalyzeID for the document bytes."""
    return {"DocumentPages": [{"Bytes": data}]}
