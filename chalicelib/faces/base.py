"""The face-engine interface shared by the Rekognition and offline engines.

An engine takes two already-validated, normalised images and either returns
a Comparison or raises an ApiError (no face, several faces in the selfie,
face too small or blurred, engine busy/failed)::

    from chalicelib import backends
    from chalicelib.imaging.prepare import prepare

    engine = backends.services().faces()
    comparison = engine.compare(prepare(card_bytes, "dl"), prepare(selfie_bytes, "selfie"))
    comparison.similarity          # 0-100; the caller's threshold decides

When the document has no face, both engines name "dl" even if the selfie has
none either: the document's problem is reported first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from chalicelib.imaging.image import Image


@dataclass(frozen=True)
class Face:
    """A detected face. Box coordinates are ratios of the image (0-1)."""

    left: float
    top: float
    width: float
    height: float
    confidence: float  # detector confidence, 0-100

    def to_json(self) -> dict[str, Any]:
        return {
            "bounding_box": {k: round(v, 4) for k, v in asdict(self).items() if k != "confidence"},
            "confidence": round(self.confidence, 2),
        }


@dataclass(frozen=True)
class Comparison:
    similarity: float  # 0-100
    document_face: Face
    selfie_face: Face
    faces_in_selfie: int
    # Enrolment (chalicelib/enrolment/): the selfie face's descriptor when the
    # engine computes one (offline engine), else None. Never logged or returned.
    selfie_descriptor: tuple[float, ...] | None = field(default=None, repr=False, compare=False)


class FaceEngine(Protocol):
    name: str

    def compare(self, document: Image, selfie: Image) -> Comparison:
        """Compare the document's largest face with the selfie's face.

        Raises ApiError for no face (field-specific), multiple selfie faces
        (unless allow_multiple_faces), unusable faces, or engine failure."""
        ...
