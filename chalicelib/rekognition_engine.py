"""Face comparison on Amazon Rekognition CompareFaces.

The boto3 client takes boto3's standard configuration (region, credentials,
AWS_ENDPOINT_URL_REKOGNITION for emulators) and is created once per process,
lazily, so importing the app stays cheap."""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from chalicelib import errors
from chalicelib.engine import Comparison, EngineOptions, Face, Image

# Worst case 3 attempts x (2 s connect + 6 s read) plus backoff stays under the
# Lambda timeout (28 s), itself under API Gateway's 29 s integration limit.
# total_max_attempts, not max_attempts: botocore reads the latter as retries
# (max_attempts=3 made 4 attempts, 32 s; tests/test_rekognition_faults.py).
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=6,
)
_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException",
              "LimitExceededException", "TooManyRequestsException"}

_client: Optional[Any] = None
_client_lock = threading.Lock()


def rekognition_client() -> Any:
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = boto3.client("rekognition", config=CLIENT_CONFIG)
    return _client


def _face(detail: Dict[str, Any]) -> Face:
    box = detail["BoundingBox"]
    return Face(left=box["Left"], top=box["Top"], width=box["Width"],
                height=box["Height"], confidence=detail.get("Confidence", 0.0))


class RekognitionEngine:
    name = "rekognition"

    def __init__(self, options: EngineOptions) -> None:
        self.options = options

    def _compare_faces(self, source: Image, target: Image) -> Dict[str, Any]:
        # SimilarityThreshold 0: every target face comes back with its score,
        # so a poor match is a low score rather than an empty answer.
        return rekognition_client().compare_faces(
            SourceImage={"Bytes": source.data},
            TargetImage={"Bytes": target.data},
            SimilarityThreshold=0,
            QualityFilter=self.options.quality_filter,
        )

    def compare(self, document: Image, selfie: Image) -> Comparison:
        try:
            try:
                response = self._compare_faces(document, selfie)
            except ClientError as exc:
                if _code(exc) != "InvalidParameterException":
                    raise
                raise errors.no_face(self._faceless_field(document, selfie)) from None
        except ClientError as exc:
            raise _translate(exc) from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise errors.ApiError(504, "ENGINE_TIMEOUT",
                                  "The face-comparison service timed out; retry.") from None
        except BotoCoreError:
            raise errors.engine_failed() from None
        return self._comparison(response)

    def _faceless_field(self, document: Image, selfie: Image) -> str:
        """CompareFaces answers InvalidParameterException when the source
        image has no face, without saying which image. One swapped call tells:
        if the selfie works as a source, the document is the faceless one."""
        try:
            self._compare_faces(selfie, document)
        except ClientError as exc:
            if _code(exc) == "InvalidParameterException":
                return "selfie"
            raise
        return "dl"

    def _comparison(self, response: Dict[str, Any]) -> Comparison:
        matches = [(m["Similarity"], m["Face"]) for m in response.get("FaceMatches", [])]
        matches += [(0.0, f) for f in response.get("UnmatchedFaces", [])]
        if not matches:
            raise errors.no_face("selfie")
        if len(matches) > 1 and not self.options.allow_multiple_faces:
            raise errors.too_many_faces(len(matches))
        similarity, best = max(matches, key=lambda m: m[0])
        return Comparison(
            similarity=float(similarity),
            document_face=_face(response["SourceImageFace"]),
            selfie_face=_face(best),
            faces_in_selfie=len(matches),
        )


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _translate(exc: ClientError) -> errors.ApiError:
    code = _code(exc)
    if code in _THROTTLED:
        return errors.engine_busy()
    if code == "ImageTooLargeException":
        return errors.ApiError(413, "IMAGE_TOO_LARGE",
                               "An image is too large for the face-comparison service.")
    if code == "InvalidImageFormatException":
        return errors.ApiError(400, "INVALID_IMAGE",
                               "An image could not be read; it may be truncated or corrupt.")
    return errors.engine_failed()
