"""The cloud stages' enrolment store: an Amazon Rekognition collection, one
per stage (``IPS_COLLECTION_ID``, default ``ips-<stage>``), created by
``scripts/provision_collection.py`` or the ``--merge-template`` resource.

Calls, and why:

- enrol: ``SearchFacesByImage`` (``FaceMatchThreshold`` on Rekognition's
  0-100 scale), then, when no other subject matched, ``IndexFaces`` with
  ``MaxFaces=1`` and ``ExternalImageId="<subject_id>:<unix time>"``, then
  ``CreateUser`` + ``AssociateFaces`` to file the face under the user
  ``<subject_id>``.
- search: ``SearchFacesByImage``; matches are grouped per subject (best face).
- metadata: ``ListFaces`` with ``UserId``.
- erasure: ``DeleteFaces`` then ``DeleteUser``.

Faces carry the subject in ExternalImageId, which IndexFaces sets in the same
call that stores the face, so a search is always attributed correctly. The
users API is used in addition, because it is the only way to list one
subject's faces without paging through the whole collection (up to 20
million faces): GET and DELETE /enrolments/{id} cost a few calls at any
size. SearchUsersByImage is not used: it sees only faces already associated,
so a face indexed a moment ago would be missed. If AssociateFaces fails, the
face just indexed is deleted again, so no face escapes erasure.

Rekognition cannot make the search and the insert one transaction: two
simultaneous enrolments of one face under two ids can both pass (the local
store's lock prevents it); docs/enrolment.md says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "TooManyRequestsException",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _subject_of(face: dict[str, Any]) -> str:
    return str(face.get("ExternalImageId", "")).rsplit(":", 1)[0]


def _enrolled_at(face: dict[str, Any]) -> str | None:
    stamp = str(face.get("ExternalImageId", "")).rpartition(":")[2]
    if not stamp.isdigit():
        return None
    return datetime.fromtimestamp(int(stamp), UTC).isoformat(timespec="seconds")


class RekognitionStore:
    """See the module docstring. ``client``: a boto3 Rekognition client
    (tests pass one wrapped by botocore's Stubber); default: the process's
    shared client with the engine's timeouts and retries."""

    name = "rekognition"

    def __init__(
        self, options: StoreOptions, client: Any = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.options = options
        self.collection_id = options.collection_id
        self._client = client
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        from chalicelib.aws import clients as aws

        return aws.client("rekognition")  # the process's client, created once

    # --- the interface -------------------------------------------------------------

    def enrol(self, subject_id: str, probe: Probe, threshold: float, limit: int) -> Enrolment:
        with _translated("enrol"):
            scored = [
                (s, sim) for s, sim in self._search(probe, threshold, limit) if s != subject_id
            ]
            duplicates = best_per_subject(scored, limit)
            if duplicates:
                return Enrolment(duplicates=duplicates, face_id=None)
            face_id = self._index(subject_id, probe)
            try:
                self._file_under_user(subject_id, face_id)
            except (ClientError, BotoCoreError):
                # Never leave a face that GET/DELETE /enrolments cannot find.
                self.client.delete_faces(CollectionId=self.collection_id, FaceIds=[face_id])
                raise
        return Enrolment(duplicates=[], face_id=face_id)

    def search(self, probe: Probe, threshold: float, limit: int) -> list[Match]:
        with _translated("search"):
            return best_per_subject(self._search(probe, threshold, limit), limit)

    def subject(self, subject_id: str) -> SubjectInfo | None:
        with _translated("read"):
            faces = self._faces_of(subject_id)
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

    def erase(self, subject_id: str) -> bool:
        with _translated("erase"):
            face_ids = [f["FaceId"] for f in self._faces_of(subject_id)]
            for start in range(0, len(face_ids), DELETE_BATCH):
                self.client.delete_faces(
                    CollectionId=self.collection_id, FaceIds=face_ids[start : start + DELETE_BATCH]
                )
            try:
                self.client.delete_user(CollectionId=self.collection_id, UserId=subject_id)
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException" or face_ids:
                    raise
                return False  # no such user and no faces: unknown subject
        return True

    # --- calls ---------------------------------------------------------------

    def _search(self, probe: Probe, threshold: float, limit: int) -> list[tuple[str, float]]:
        try:
            response = self.client.search_faces_by_image(
                CollectionId=self.collection_id,
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
            (_subject_of(m["Face"]), float(m["Similarity"]))
            for m in response.get("FaceMatches", [])
        ]

    def _index(self, subject_id: str, probe: Probe) -> str:
        response = self.client.index_faces(
            CollectionId=self.collection_id,
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

    def _file_under_user(self, subject_id: str, face_id: str) -> None:
        try:
            self.client.create_user(CollectionId=self.collection_id, UserId=subject_id)
        except ClientError as exc:
            if _code(exc) != "ConflictException":  # the subject exists: add a face
                raise
        self.client.associate_faces(
            CollectionId=self.collection_id, UserId=subject_id, FaceIds=[face_id]
        )

    def _faces_of(self, subject_id: str) -> list[dict[str, Any]]:
        faces: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "CollectionId": self.collection_id,
            "UserId": subject_id,
            "MaxResults": 4096,
        }
        while True:
            # An unknown subject is an empty list; ResourceNotFoundException
            # means the collection is missing (a 503 for the operator).
            response = self.client.list_faces(**kwargs)
            faces += response.get("Faces", [])
            token = response.get("NextToken")
            if not token:
                return faces
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
