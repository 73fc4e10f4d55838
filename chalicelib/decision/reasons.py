"""Every reason code a decision can carry (the `reasons` of /ips and
/enrolments; docs/api.md). One enum, so a code reads the same everywhere.
New capabilities add their codes here, in a block naming their issue."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # Document checks (docs/document-reading.md)
    DOCUMENT_UNREADABLE = "DOCUMENT_UNREADABLE"
    DOCUMENT_EXPIRED = "DOCUMENT_EXPIRED"
    DOCUMENT_CHECK_DIGITS = "DOCUMENT_CHECK_DIGITS"
    UNDER_MINIMUM_AGE = "UNDER_MINIMUM_AGE"
    EXPECTED_DATA_MISMATCH = "EXPECTED_DATA_MISMATCH"
    # Enrolment (docs/enrolment.md)
    DUPLICATE_FACE = "DUPLICATE_FACE"


# Failed checks that cap the decision at IPS_DOCUMENT_FAILED (no_match by
# default); every other reason caps it at review.
HARD = frozenset({Reason.DOCUMENT_EXPIRED, Reason.UNDER_MINIMUM_AGE})
