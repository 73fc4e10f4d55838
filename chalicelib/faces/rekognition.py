"""Face comparison on Amazon Rekognition CompareFaces.

The boto3 client is passed in (``chalicelib.aws.client("rekognition")`` in
the service, a stubbed client in tests and benchmarks), as in Chalice's
media-query sample."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from chalicelib.config.settings import EngineOptions
from chalicelib.core import errors
from chalicelib.faces.base import Comparison, Face
from chalicelib.imaging.image import Image

_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "TooManyRequestsException",
}


def _face(detail: dict[str, Any]) -> Face:
    box = detail["BoundingBox"]
    return Face(
        left=box["Left"],
        top=box["Top"],
        width=box["Width"],
        height=box["Height"],
        confidence=detail.get("Confidence", 0.0),
    )


class RekognitionEngine:
    name = "rekognition"

    def __init__(self, options: EngineOptions, client: Any = None) -> None:
        if client is None:
            from chalicelib.aws import clients as aws

            client = aws.client("rekognition")
        self.options = options
        self.client = client

    def _compare_faces(self, source: Image, target: Image) -> dict[str, Any]:
        # SimilarityThreshold 0: every target face comes back with its score,
        # so a poor match is a low score rather than an empty answer.
        response: dict[str, Any] = self.client.compare_faces(
            SourceImage={"Bytes": source.data},
            TargetImage={"Bytes": target.data},
            SimilarityThreshold=0,
            QualityFilter=self.options.quality_filter,
        )
        return response

    def compare(self, document: Image, selfie: Image) -> Comparison:
        try:
            try:
                response = self._compare_faces(document, selfie)
            except ClientError as exc:
                if _code(exc) != "InvalidParameterException":
                    raise
                raise errors.no_face(self._faceless_field(document)) from None
        except ClientError as exc:
            raise _translate(exc) from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise errors.engine_timeout() from None
        except BotoCoreError:
            raise errors.engine_failed() from None
        return self._comparison(response)

    def _faceless_field(self, document: Image) -> str:
        """CompareFaces answers InvalidParameterException when either image
        has no face, without saying which. The document's problem is reported
        first (as the offline engine does), so one more call asks whether the
        document has a face at all: compared with itself, it fails only if not."""
        try:
            self._compare_faces(document, document)
        except ClientError as exc:
            if _code(exc) == "InvalidParameterException":
                return "dl"
            raise
        return "selfie"

    def _comparison(self, response: dict[str, Any]) -> Comparison:
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
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError) -> errors.ApiError:
    code = _code(exc)
    if code in _THROTTLED:
        return errors.engine_busy()
    if code == "ImageTooLargeException":
        return errors.image_too_large()
    if code == "InvalidImageFormatException":
        return errors.invalid_image()
    return errors.engine_failed()
