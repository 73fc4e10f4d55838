"""The cloud stages' enrolment store: Amazon Rekognition collections, one
per tenant: ``<IPS_COLLECTION_ID>-<tenant id>`` (say ``ips-prod-acme``),
created by ``make provision`` (scripts/ops/provision_collection.py). A tenant's
faces are never in a search of another's: the isolation is Rekognition's
own, not a filter, and the stage's IAM policy covers ``collection/ips-prod-*``
only. A tenant whose collection is missing gets 503 STORE_UNAVAILABLE.

Each face is indexed with ``ExternalImageId="<subject_id>:<unix time>"`` and
then associated with the user ``<subject_id>``. Only associated faces count:

- search (``SearchFacesByImage``) drops every face without a ``UserId`` and
  attributes the others by it, so a face indexed but never associated (a
  Lambda timeout between two calls, a failed clean-up) is never an answer;
- metadata: ``ListFaces`` with ``UserId``.

Enrolment, in this order:

1. ``SearchFacesByImage``: a face of another subject at or above the
   threshold is a duplicate, and nothing is indexed;
2. ``IndexFaces`` (``MaxFaces=1``; the flow crops the selfie to the face the
   verification matched) through a client that never retries it: a retry
   after a lost answer would index the face twice;
3. ``SearchFaces`` with the new face id, counting faces not yet associated
   too: this closes the race of two enrolments of one face under two ids at
   once. Whichever of the two re-searches runs second sees the other's face
   (indexed before that one's re-search began), so at most one enrolment
   passes; one that sees a rival deletes its own face and answers the
   duplicate (both may, and then the client's retry decides). Assumes
   Rekognition's read-after-write: a face is searchable once IndexFaces answers;
4. ``CreateUser`` (idempotent) and ``AssociateFaces``, checked face by face.
   On any failure after step 2 the face is deleted again (best effort; if
   even that fails, the face stays unassociated: invisible to search, found
   by erasure and by ``make reconcile``).

Erasure (re-entrant: a retry after a 503 finishes it):

1. every face of the subject, by ``UserId`` or by ``ExternalImageId``: one
   pass of ``ListFaces`` over the tenant's collection (4096 faces a call),
   since only that finds the unassociated ones;
2. ``DeleteUser`` first (it disassociates the user's faces: ``DeleteFaces``
   refuses associated faces with ``ASSOCIATED_TO_AN_EXISTING_USER``);
3. ``DeleteFaces``; every id is accounted for: deleted, or
   ``FACE_NOT_FOUND`` (already gone); one still associated is disassociated
   and deleted again; whatever is left after ``DELETE_ATTEMPTS`` passes is
   503 STORE_BUSY, never a 204.

``reconcile`` (``make reconcile``) deletes unassociated faces older than a
grace period and users left with no face.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config.settings import StoreOptions
from chalicelib.core import errors
from chalicelib.core.logs import log_event
from chalicelib.enrolment.base import (
    Enrolment,
    FaceInfo,
    Match,
    Probe,
    SubjectInfo,
    best_per_subject,
)

# SearchFacesByImage returns faces, not subjects: ask for enough faces that a
# subject's own several faces cannot crowd out `limit` other subjects.
FACES_PER_MATCH = 4
MAX_SEARCH_FACES = 4096  # Rekognition's maximum
DELETE_BATCH = 4096  # DeleteFaces takes at most 4096 ids a call
LIST_PAGE = 4096  # ListFaces' largest page
DELETE_ATTEMPTS = 3
# An unassociated face younger than this may be an enrolment in flight
# (the Lambda timeout is 28 s): reconcile leaves it alone.
ORPHAN_GRACE_S = 15 * 60
_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "TooManyRequestsException",
    "ConflictException",  # the user is being changed by another call
}


def collection_for(prefix: str, tenant_id: str) -> str:
    return f"{prefix}-{tenant_id}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _subject_of(face: dict[str, Any]) -> str:
    return str(face.get("ExternalImageId", "")).rsplit(":", 1)[0]


def _stamp(face: dict[str, Any]) -> int | None:
    stamp = str(face.get("ExternalImageId", "")).rpartition(":")[2]
    return int(stamp) if stamp.isdigit() else None


def _enrolled_at(face: dict[str, Any]) -> str | None:
    stamp = _stamp(face)
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def _token() -> str:
    """A ClientRequestToken: botocore's own retries of the call stay one call."""
    return uuid.uuid4().hex


class RekognitionStore:
    """See the module docstring. ``client``: a boto3 Rekognition client
    (tests pass one wrapped by botocore's Stubber); ``index_client``: one
    that makes a single attempt (``chalicelib.aws``'s "rekognition-index"),
    for IndexFaces only."""

    name = "rekognition"

    def __init__(
        self,
        options: StoreOptions,
        client: Any,
        index_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.client = client
        self.index_client = client if index_client is None else index_client
        self._clock = clock

    def collection(self, tenant_id: str) -> str:
        return collection_for(self.options.collection_id, tenant_id)

    # --- the interface -------------------------------------------------------------

    def enrol(
        self, tenant_id: str, subject_id: str, probe: Probe, threshold: float, limit: int
    ) -> Enrolment:
        collection = self.collection(tenant_id)
        with _translated("enrol"):
            scored = self._search(collection, probe, threshold, limit)
            duplicates = best_per_subject([m for m in scored if m[0] != subject_id], limit)
            if duplicates:
                return Enrolment(duplicates=duplicates, face_id=None)
            face_id = self._index(collection, subject_id, probe)
            try:
                rivals = self._rivals(collection, subject_id, face_id, threshold, limit)
                filed = not rivals and self._file_under_user(collection, subject_id, face_id)
            except (ClientError, BotoCoreError):
                self._discard(collection, face_id)
                raise
            if rivals:
                self._discard(collection, face_id)
                log_event("enrolment_race", store="rekognition", rivals=len(rivals))
                return Enrolment(duplicates=rivals, face_id=None)
            if not filed:
                self._discard(collection, face_id)
                log_event("store_error", store="rekognition", operation="enrol", error="unfiled")
                raise errors.store_unavailable()
        return Enrolment(duplicates=[], face_id=face_id)

    def search(self, tenant_id: str, probe: Probe, threshold: float, limit: int) -> list[Match]:
        with _translated("search"):
            scored = self._search(self.collection(tenant_id), probe, threshold, limit)
        return best_per_subject(scored, limit)

    def subject(self, tenant_id: str, subject_id: str) -> SubjectInfo | None:
        with _translated("read"):
            faces = self._faces_of(self.collection(tenant_id), subject_id)
        if not faces:
            return None
        return SubjectInfo(
            subject_id=subject_id,
            engine="rekognition",
            faces=[
                FaceInfo(
                    enrolled_at=_enrolled_at(f),
                    model_version=f"rekognition-{f.get('IndexFacesModelVersion', '')}",
                )
                for f in faces
            ],
        )

    def erase(self, tenant_id: str, subject_id: str) -> bool:
        collection = self.collection(tenant_id)
        with _translated("erase"):
            face_ids = {
                str(f["FaceId"])
                for f in self._all_faces(collection)
                if f.get("UserId") == subject_id or _subject_of(f) == subject_id
            }
            user_existed = self._delete_user(collection, subject_id)
            if not face_ids and not user_existed:
                return False
            self._delete_faces(collection, sorted(face_ids))
        return True

    def reconcile(self, tenant_id: str, grace_s: float = ORPHAN_GRACE_S) -> dict[str, int]:
        """Delete unassociated faces older than ``grace_s`` (or with no
        readable time) and users with no face. Returns the counts."""
        collection = self.collection(tenant_id)
        now = self._clock()
        orphans: list[str] = []
        owners: set[str] = set()
        with _translated("reconcile"):
            for face in self._all_faces(collection):
                if face.get("UserId"):
                    owners.add(str(face["UserId"]))
                    continue
                stamp = _stamp(face)
                if stamp is None or now - stamp >= grace_s:
                    orphans.append(str(face["FaceId"]))
            self._delete_faces(collection, orphans)
            empty = [u for u in self._users(collection) if u not in owners]
            for user in empty:
                self._delete_user(collection, user)
        return {"orphan_faces": len(orphans), "empty_users": len(empty)}

    # --- calls ---------------------------------------------------------------

    def _search(
        self, collection: str, probe: Probe, threshold: float, limit: int
    ) -> list[tuple[str, float]]:
        """(subject, similarity) of associated faces only."""
        try:
            response = self.client.search_faces_by_image(
                CollectionId=collection,
                Image={"Bytes": probe.image.data},
                MaxFaces=min(MAX_SEARCH_FACES, FACES_PER_MATCH * max(1, limit)),
                FaceMatchThreshold=float(threshold),  # 0-100: 80 means 80%, not 0.8
                QualityFilter=self.options.quality_filter,
            )
        except ClientError as exc:
            if _code(exc) == "InvalidParameterException":  # no face in the image
                raise errors.no_face("selfie") from None
            raise
        return [
            (str(m["Face"]["UserId"]), float(m["Similarity"]))
            for m in response.get("FaceMatches", [])
            if m["Face"].get("UserId")
        ]

    def _rivals(
        self, collection: str, subject_id: str, face_id: str, threshold: float, limit: int
    ) -> list[Match]:
        """Other subjects' faces like the one just indexed, associated or
        not (an enrolment of theirs in flight)."""
        response = self.client.search_faces(
            CollectionId=collection,
            FaceId=face_id,
            MaxFaces=min(MAX_SEARCH_FACES, FACES_PER_MATCH * max(1, limit)),
            FaceMatchThreshold=float(threshold),
        )
        scored = []
        for match in response.get("FaceMatches", []):
            owner = str(match["Face"].get("UserId") or _subject_of(match["Face"]))
            if owner != subject_id:
                scored.append((owner, float(match["Similarity"])))
        return best_per_subject(scored, limit)

    def _index(self, collection: str, subject_id: str, probe: Probe) -> str:
        response = self.index_client.index_faces(
            CollectionId=collection,
            Image={"Bytes": probe.image.data},
            ExternalImageId=f"{subject_id}:{int(self._clock())}",
            MaxFaces=1,
            QualityFilter=self.options.quality_filter,
            DetectionAttributes=[],
        )
        records = response.get("FaceRecords", [])
        if not records:  # filtered out by QualityFilter
            raise errors.no_face("selfie")
        return str(records[0]["Face"]["FaceId"])

    def _file_under_user(self, collection: str, subject_id: str, face_id: str) -> bool:
        """True when the face is now the user's."""
        try:
            self.client.create_user(
                CollectionId=collection, UserId=subject_id, ClientRequestToken=_token()
            )
        except ClientError as exc:
            if _code(exc) != "ConflictException":  # the subject exists: add a face
                raise
        response = self.client.associate_faces(
            CollectionId=collection,
            UserId=subject_id,
            FaceIds=[face_id],
            # Whether this selfie is the subject's was decided against the
            # document, as on the local stage; not by likeness to older faces.
            UserMatchThreshold=0.0,
            ClientRequestToken=_token(),
        )
        return face_id in {f.get("FaceId") for f in response.get("AssociatedFaces", [])}

    def _discard(self, collection: str, face_id: str) -> None:
        """Best-effort removal of a face this enrolment indexed; the error
        that made it necessary is the one reported."""
        with suppress(ClientError, BotoCoreError, errors.ApiError):
            self._delete_faces(collection, [face_id])

    def _delete_user(self, collection: str, user_id: str) -> bool:
        """False if there was no such user."""
        try:
            self.client.delete_user(
                CollectionId=collection, UserId=user_id, ClientRequestToken=_token()
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def _delete_faces(self, collection: str, face_ids: list[str]) -> None:
        """Delete every id or raise 503: FACE_NOT_FOUND counts as deleted, a
        face still associated is disassociated and tried again."""
        left = list(dict.fromkeys(face_ids))
        for _attempt in range(DELETE_ATTEMPTS):
            if not left:
                return
            failed: list[str] = []
            for start in range(0, len(left), DELETE_BATCH):
                response = self.client.delete_faces(
                    CollectionId=collection, FaceIds=left[start : start + DELETE_BATCH]
                )
                for failure in response.get("UnsuccessfulFaceDeletions", []):
                    reasons = failure.get("Reasons", [])
                    if "FACE_NOT_FOUND" in reasons:
                        continue
                    failed.append(str(failure["FaceId"]))
                    if "ASSOCIATED_TO_AN_EXISTING_USER" in reasons and failure.get("UserId"):
                        self.client.disassociate_faces(
                            CollectionId=collection,
                            UserId=failure["UserId"],
                            FaceIds=[failure["FaceId"]],
                            ClientRequestToken=_token(),
                        )
            left = failed
        if left:
            log_event(
                "store_error", store="rekognition", operation="delete_faces", error="undeleted"
            )
            raise errors.store_busy()

    def _faces_of(self, collection: str, subject_id: str) -> list[dict[str, Any]]:
        # An unknown subject is an empty list; ResourceNotFoundException
        # means the collection is missing (a 503 for the operator).
        return list(self._pages("list_faces", "Faces", CollectionId=collection, UserId=subject_id))

    def _all_faces(self, collection: str) -> Iterator[dict[str, Any]]:
        return self._pages("list_faces", "Faces", CollectionId=collection)

    def _users(self, collection: str) -> list[str]:
        return [
            str(u["UserId"])
            for u in self._pages("list_users", "Users", CollectionId=collection, page=500)
        ]

    def _pages(
        self, operation: str, key: str, page: int = LIST_PAGE, **params: Any
    ) -> Iterator[dict[str, Any]]:
        call = getattr(self.client, operation)
        kwargs: dict[str, Any] = {**params, "MaxResults": page}
        while True:
            response = call(**kwargs)
            yield from response.get(key, [])
            token = response.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turns Rekognition failures into the API's errors; logs only the AWS
    error code."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        log_event("store_error", store="rekognition", operation=operation, error=code)
        if code in _THROTTLED:
            raise errors.store_busy() from None
        raise errors.store_unavailable() from None
    except BotoCoreError as exc:
        log_event("store_error", store="rekognition", operation=operation, error=type(exc).__name__)
        raise errors.store_unavailable() from None
