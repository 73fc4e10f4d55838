"""The face-engine interface shared by the Rekognition and offline engines.

An engine takes two already-validated, normalised images and either returns
a Comparison or raises an ApiError (no face, several faces in the selfie,
face too small or blurred, engine busy/failed)::

    from chalicelib.engines import engine_for
    from chalicelib.images import prepare

    engine = engine_for("local", EngineOptions())
    comparison = engine.compare(prepare(card_bytes, "dl"), prepare(selfie_bytes, "selfie"))
    comparison.similarity          # 0-100; the caller's threshold decides

When the document has no face, both engines name "dl" even if the selfie has
none either: the document's problem is reported first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Image:
    """A validated image: its bytes and header facts. Engines receive only
    normalised ones (chalicelib.image_normalise): JPEG or PNG, upright."""

    data: bytes
    format: str  # "JPEG" or "PNG" once normalised; before, as received
    width: int
    height: int
    field: str  # "dl" or "selfie": which request field it came from


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


@dataclass(frozen=True)
class EngineOptions:
    """Stage settings an engine needs."""

    allow_multiple_faces: bool = False  # True: best match among selfie faces
    quality_filter: str = "AUTO"  # Rekognition QualityFilter
    min_face_px: int = 32  # offline engine: smallest face side compared (docs/offline-engine.md)
    min_sharpness: float | None = None  # offline engine: blur threshold (None: engine default)
