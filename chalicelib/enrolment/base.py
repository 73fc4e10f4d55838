"""The enrolment-store interface: the faces of enrolled subjects, searched
for duplicates (one face enrolled under several customer ids).

Two implementations, picked per stage by the composition root (chalicelib/backends.py):

- ``sqlite.SqliteStore`` (local stage): 128-d descriptors from the offline
  engine in a SQLite file, searched exactly in memory;
- ``rekognition.RekognitionStore`` (cloud stages): an Amazon Rekognition
  collection, one per stage.

A store never keeps or returns images. Similarities are on the stage
engine's 0-100 scale, like ``/ips``.

Usage::

    store = backends.services().store()
    outcome = store.enrol("acme", "customer-42", Probe(image, descriptor), threshold=60, limit=5)
    if outcome.duplicates: ...            # nothing was stored
    store.search("acme", Probe(image, descriptor), threshold=60, limit=5)
    store.subject("acme", "customer-42")  # SubjectInfo or None
    store.erase("acme", "customer-42")    # True if it existed

Every method takes the tenant id first: a tenant sees, searches and erases
only its own subjects, and another tenant's subject id is simply not found
(the routes answer 404, never 403, so ids are no oracle). The same subject
id under two tenants is two subjects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.imaging.image import Image

# Customer ids: letters, digits and "_.-", starting with a letter or digit, at
# most 64 characters. The alphabet is a subset of what Rekognition accepts in
# ExternalImageId and UserId ([a-zA-Z0-9_.\-:]+), so ":" stays free as the
# separator of "<subject>:<enrolment time>" there; it never needs escaping in
# a URL path and carries no personal data by itself beyond the caller's id.
SUBJECT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # fullmatch only
SUBJECT_ID_MAX = 64


@dataclass(frozen=True)
class Probe:
    """The face searched for or enrolled: the normalised selfie and, on the
    local stage, the descriptor the offline engine computed from it (repr
    hidden: a descriptor is biometric data and must never reach a log)."""

    image: Image
    descriptor: tuple[float, ...] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Match:
    """An enrolled subject whose best face matched the probe."""

    subject_id: str
    similarity: float  # 0-100, the best of the subject's faces

    def to_json(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "similarity": round(self.similarity, 2)}


@dataclass(frozen=True)
class Enrolment:
    """The outcome of ``enrol``: the duplicates found under other subject
    ids (best first; when any, nothing was stored) and the stored face's id."""

    duplicates: list[Match]
    face_id: str | None

    @property
    def enrolled(self) -> bool:
        return self.face_id is not None


@dataclass(frozen=True)
class FaceInfo:
    enrolled_at: str | None  # ISO 8601 UTC; None when the store cannot tell
    model_version: str


@dataclass(frozen=True)
class SubjectInfo:
    """What GET /enrolments/{subject_id} shows: never images or descriptors."""

    subject_id: str
    engine: str
    faces: list[FaceInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "engine": self.engine,
            "faces": len(self.faces),
            "enrolments": [
                {"enrolled_at": f.enrolled_at, "model_version": f.model_version} for f in self.faces
            ],
        }


class EnrolmentStore(Protocol):
    name: str  # "sqlite" or "rekognition"

    def enrol(
        self, tenant_id: str, subject_id: str, probe: Probe, threshold: float, limit: int
    ) -> Enrolment:
        """Search for the probe's face; when no face of ANOTHER subject is at
        or above ``threshold``, store it under ``subject_id`` (created if new).
        Raises ApiError (503) when the store cannot be read or written."""
        ...

    def search(self, tenant_id: str, probe: Probe, threshold: float, limit: int) -> list[Match]:
        """The tenant's subjects with a face at or above ``threshold``, best
        first, at most ``limit``."""
        ...

    def subject(self, tenant_id: str, subject_id: str) -> SubjectInfo | None:
        """The subject's metadata, or None if unknown."""
        ...

    def erase(self, tenant_id: str, subject_id: str) -> bool:
        """Delete every face and record of the subject, so that no trace of
        it stays in the store; False if unknown. Raises ApiError 503
        (STORE_BUSY) when that cannot be made sure of now: the caller retries."""
        ...


def best_per_subject(scored: Sequence[tuple[str, float]], limit: int) -> list[Match]:
    """One Match per subject (its best face), best first, at most ``limit``;
    ties broken by subject id so the order never depends on storage order."""
    best: dict[str, float] = {}
    for subject_id, similarity in scored:
        if similarity > best.get(subject_id, -1.0):
            best[subject_id] = similarity
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return [Match(s, sim) for s, sim in ranked[: max(0, limit)]]
